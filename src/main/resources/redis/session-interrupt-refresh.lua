--[[
  The refresh's upstream call failed after the request may have been processed there: if the owner still holds
  the lock, it expires now but stays, so the next refresh decides at once what a lock whose holder died decides when
  it expires (session-begin-refresh).

  Input:
    KEYS[1]  session
    ARGV[1]  lock owner
  Output:
    the count of new fields HSET reports (0), or 0 when the lock is not the owner's
]]
if redis.call('HGET', KEYS[1], 'lock') == ARGV[1] then
  return redis.call('HSET', KEYS[1], 'lock_until', '0')
end
return 0
