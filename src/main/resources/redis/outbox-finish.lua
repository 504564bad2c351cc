--[[
  Acknowledges and deletes an outbox entry.

  Input:
    KEYS[1]  stream
    ARGV[1]  group
    ARGV[2]  entry id
  Output:
    XDEL's count
]]
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
