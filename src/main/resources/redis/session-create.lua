--[[
  Opens a session with its deadlines, by Redis' clock.

  Input:
    KEYS[1]  session
    ARGV[1]  max lifetime, ms
    ARGV[2]  idle timeout, ms
    ARGV[3]  upstream refresh token lifetime, ms, or '' if unknown
    ARGV[4]  retention after the deadline, ms
    ARGV[5…] field/value pairs of the session
  Output:
    1
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local maxUntil = now + tonumber(ARGV[1])
local expires = math.min(maxUntil, now + tonumber(ARGV[2]))
local rtUntil = '0'
if ARGV[3] ~= '' then
  rtUntil = tostring(now + tonumber(ARGV[3]))
  expires = math.min(expires, tonumber(rtUntil))
end
redis.call('HSET', KEYS[1], 'created', tostring(now), 'refreshed', '0', 'version', '0',
  'max_until', tostring(maxUntil), 'rt_until', rtUntil, 'expires', tostring(expires), unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], tostring(expires + tonumber(ARGV[4])))
return 1
