--[[
  The second round trip of a refresh: stores the result if nobody else committed since the expected version,
  rotates the handle secret, slides the idle deadline and releases the lock. Idempotent for its owner: a retry after
  a commit whose reply was lost finds its marker and returns 1, even when later refreshes have moved the version on
  since (then the token it stored has been spent by them, not orphaned: it must not be revoked).

  Input:
    KEYS[1]  session
    KEYS[2]  this commit's marker (same slot)
    KEYS[3]  the session's last answer (same slot)
    ARGV[1]  lock owner
    ARGV[2]  expected version
    ARGV[3]  issued envelope
    ARGV[4]  requested scope key
    ARGV[5]  refresh token envelope, or '' to keep the stored one (the upstream reuses refresh tokens: noted as
             rtreuse, which session-begin-refresh reads)
    ARGV[6]  hash of the new handle secret, or '' (no rotation)
    ARGV[7]  rotation grace, ms
    ARGV[8]  idle timeout, ms
    ARGV[9]  upstream refresh token lifetime, ms, or '' (unchanged)
    ARGV[10] retention after the deadline, ms
    ARGV[11] how long the marker lives, ms
    ARGV[12] how long the answer lives, ms: past the rotation grace and the reuse window, the only times
             session-begin-refresh answers from it, so that an idle session does not hold it
    ARGV[13] '1' to keep the answer in the session's 'issued' field too, where brokers before its own key read it
             (broker.session.keep-answer-in-record, for a rolling update), else ''
  Output:
    1 committed, 0 the version moved on, -1 the session is gone
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local f = redis.call('HMGET', KEYS[1], 'version', 'max_until', 'rt_until', 'cur')
if not f[1] then return -1 end
if redis.call('GET', KEYS[2]) == ARGV[2] then return 1 end
if f[1] ~= ARGV[2] then return 0 end
local rtUntil = f[3]
if ARGV[9] ~= '' then rtUntil = tostring(now + tonumber(ARGV[9])) end
local expires = math.min(tonumber(f[2]), now + tonumber(ARGV[8]))
if rtUntil ~= '0' then expires = math.min(expires, tonumber(rtUntil)) end
redis.call('HSET', KEYS[1], 'version', tostring(tonumber(ARGV[2]) + 1), 'refreshed', tostring(now),
  'iscope', ARGV[4], 'rt_until', rtUntil, 'expires', tostring(expires))
if ARGV[13] == '1' then redis.call('HSET', KEYS[1], 'issued', ARGV[3])
else redis.call('HDEL', KEYS[1], 'issued') end
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[12])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'rt', ARGV[5]) redis.call('HDEL', KEYS[1], 'rtreuse')
else redis.call('HSET', KEYS[1], 'rtreuse', '1') end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'prev', f[4], 'prev_until', tostring(now + tonumber(ARGV[7])), 'cur', ARGV[6])
end
if redis.call('HGET', KEYS[1], 'lock') == ARGV[1] then redis.call('HDEL', KEYS[1], 'lock', 'lock_until') end
redis.call('PEXPIREAT', KEYS[1], tostring(expires + tonumber(ARGV[10])))
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[11])
return 1
