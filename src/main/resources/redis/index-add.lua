--[[
  Adds a session id to an index set; the index lives as long as its newest session.

  Input:
    KEYS[1]  index set
    ARGV[1]  session id
    ARGV[2]  ttl, ms
  Output:
    1
]]
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
