--[[
  Writes a session's web-mode record only while the session exists: a write that loses the race against the
  session's end cannot bring the record, and the access token it caches, back.

  Input:
    KEYS[1]  the session
    KEYS[2]  its web-mode record (same slot)
    ARGV[1]  envelope
    ARGV[2]  ttl, ms
  Output:
    1 written, 0 the session has ended
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
