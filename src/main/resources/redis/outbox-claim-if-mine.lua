--[[
  If the outbox entry is in this consumer's pending list, sets its idle time (XCLAIM to itself, delivery count
  unchanged).

  Input:
    KEYS[1]  stream
    ARGV[1]  group
    ARGV[2]  consumer
    ARGV[3]  entry id
    ARGV[4]  idle, ms
  Output:
    1 claimed, 0 not this consumer's
]]
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #p == 0 then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[4], 'JUSTID')
return 1
