--[[
  The first round trip of a refresh: checks the handle and decides.
  The DPoP key is checked before the handle's secret, so that without the key even a retired handle ends nothing;
  the requested scope is checked before the lock is taken.

  Input:
    KEYS[1]  session
    KEYS[2]  its web-mode record (same slot), which ends with it
    KEYS[3]  its last answer (same slot), which ends with it; a session last refreshed by a broker that kept the answer
             in the session's 'issued' field is read from there
    ARGV[1]  hash of the presented secret
    ARGV[2]  client id
    ARGV[3]  requested scope key
    ARGV[4]  the version an earlier round saw, or ''
    ARGV[5]  lock owner
    ARGV[6]  lock ttl, ms
    ARGV[7]  reuse window, ms
    ARGV[8]  DPoP key thumbprint, or ''
  Output:
    {'gone'}                          no such session for this client
    {'ended', reason, rt, subject tag, sid tag}
                                      deleted here: past a deadline (idle, lifetime, upstream_lifetime), a retired
                                      handle reused (reuse), or a lock that expired without being released
                                      (refresh_interrupted): the refresh that held it may have spent the refresh
                                      token (its replica died, or its upstream call failed after the request may have
                                      been processed); unless this session's upstream has been seen to reuse refresh
                                      tokens (rtreuse), presenting it again could be taken upstream for theft
    {'dpop'}                          bound to a DPoP key the request did not prove
    {'scope'}                         the requested scope is not within the session's
    {'cached', now, refreshed, issued}
                                      answer with the stored result: the handle was retired within its grace and the
                                      result is for the same requested scope, or the last result is for the same
                                      request and fresh (reuse window) or newer than what an earlier round saw
    {'busy', version, issued}         another refresh holds the lock
    {'locked', now, version, rt, scope, issued}
                                      the caller now holds the lock and must refresh upstream
    In busy and locked, issued is the stored result when the handle was retired within its grace but asked for
    another scope (RFC 6749 §6: never a broader one), and '' otherwise: its handle is the session's current one,
    which a locked refresh answers with instead of rotating again, and with which a busy one asks again.
    The stored result outlives the grace and the reuse window (session-commit-refresh); should it be gone all the same,
    nothing is answered from it: the caller refreshes (or waits) as if its handle were the current one.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local f = redis.call('HMGET', KEYS[1], 'client', 'expires', 'max_until', 'rt_until', 'cur', 'prev',
  'prev_until', 'jkt', 'version', 'refreshed', 'issued', 'iscope', 'lock', 'lock_until', 'rt', 'scope',
  'subt', 'sidt', 'rtreuse')
if not f[1] or f[1] ~= ARGV[2] then return {'gone'} end
if now >= tonumber(f[2]) then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  local reason = 'idle'
  if now >= tonumber(f[3]) then reason = 'lifetime'
  elseif f[4] ~= '0' and now >= tonumber(f[4]) then reason = 'upstream_lifetime' end
  return {'ended', reason, f[15], f[17] or '', f[18] or ''}
end
if f[8] and f[8] ~= '' and f[8] ~= ARGV[8] then return {'dpop'} end
local grace = false
if ARGV[1] ~= f[5] then
  if ARGV[1] == f[6] and now < tonumber(f[7]) then grace = true
  else
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
    return {'ended', 'reuse', f[15], f[17] or '', f[18] or ''}
  end
end
local issued = f[11] or redis.call('GET', KEYS[3])
if grace and issued and f[12] == ARGV[3] then return {'cached', tostring(now), f[10], issued} end
if ARGV[3] ~= '' and f[16] and f[16] ~= '' then
  for asked in string.gmatch(ARGV[3], '%S+') do
    if not string.find(' ' .. f[16] .. ' ', ' ' .. asked .. ' ', 1, true) then return {'scope'} end
  end
end
if issued and f[12] == ARGV[3]
    and ((ARGV[4] ~= '' and f[9] ~= ARGV[4]) or now - tonumber(f[10]) <= tonumber(ARGV[7])) then
  return {'cached', tostring(now), f[10], issued}
end
local current = ''
if grace then current = issued or '' end
if f[13] and f[13] ~= ARGV[5] then
  if tonumber(f[14]) > now then return {'busy', f[9], current} end
  if f[19] ~= '1' then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
    return {'ended', 'refresh_interrupted', f[15], f[17] or '', f[18] or ''}
  end
end
redis.call('HSET', KEYS[1], 'lock', ARGV[5], 'lock_until', tostring(now + tonumber(ARGV[6])))
return {'locked', tostring(now), f[9], f[15], f[16] or '', current}
