--[[
  If the old entry is in this consumer's pending list, adds the new entry, acknowledges and deletes the old one;
  else (another replica took it over) changes nothing.

  Input:
    KEYS[1]  stream
    ARGV[1]  group
    ARGV[2]  consumer
    ARGV[3]  old entry id
    ARGV[4…] the new entry's field/value pairs
  Output:
    the new entry's id, or nil
]]
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1, ARGV[2])
if #p == 0 then return false end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
return id
