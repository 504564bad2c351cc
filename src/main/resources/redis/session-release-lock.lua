--[[
  Releases the refresh lock, only if the owner still holds it.

  Input:
    KEYS[1]  session
    ARGV[1]  lock owner
  Output:
    2 released, 0 not the owner's lock
]]
if redis.call('HGET', KEYS[1], 'lock') == ARGV[1] then
  return redis.call('HDEL', KEYS[1], 'lock', 'lock_until')
end
return 0
