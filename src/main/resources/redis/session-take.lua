--[[
  Atomically deletes the session (with its web-mode record and last answer) and returns what ending it needs, as it was at that
  instant (so a refresh committed just before is revoked too).

  Input:
    KEYS[1]  session
    KEYS[2]  its web-mode record (same slot)
    KEYS[3]  its last answer (same slot)
    ARGV[1]  client id, or '' for any client
    ARGV[2]  version, or '' for any
    ARGV[3]  DPoP key thumbprint, '' for none, or 'any' for no check
    ARGV[4]  hash of a handle secret that must be the current one or the one retired within its grace, or '' for no
             check
  Output:
    {rt, subject tag, sid tag, client id}, or nil when there is no such session (for that client, at that version,
    for that key, for that handle)
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local f = redis.call('HMGET', KEYS[1], 'client', 'version', 'rt', 'subt', 'sidt', 'jkt', 'cur', 'prev',
  'prev_until')
if not f[1] or (ARGV[1] ~= '' and f[1] ~= ARGV[1]) or (ARGV[2] ~= '' and f[2] ~= ARGV[2])
    or (ARGV[3] ~= 'any' and (f[6] or '') ~= '' and f[6] ~= ARGV[3]) then
  return false
end
if ARGV[4] ~= '' and ARGV[4] ~= f[7] and not (ARGV[4] == f[8] and now < tonumber(f[9])) then
  return false
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return {f[3], f[4] or '', f[5] or '', f[1]}
