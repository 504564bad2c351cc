--[[
  Generic cell rate algorithm over several buckets of one hash tag. A bucket key lives until its bucket is
  full again, at least 1 ms (at very high rates an emission interval is below the clock's resolution).

  Input:
    KEYS[…]  buckets
    ARGV[1]  cost
    ARGV[2]  'take' (all or nothing: refused when any bucket is over) or 'charge' (always taken, for a cost found
             out afterwards: the debt is capped at one period beyond the burst)
    ARGV[…]  per bucket: its emission interval, ms (period / requests), then its period, ms
  Output:
    {0, 0} taken, or {i, ms} refused by bucket i, which admits the request again after ms
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local cost = tonumber(ARGV[1])
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[1 + 2 * i])
  local period = tonumber(ARGV[2 + 2 * i])
  local tat = math.max(tonumber(redis.call('GET', KEYS[i]) or '0'), now)
  local new = tat + cost * interval
  if ARGV[2] == 'take' and new - now > period then
    return {i, math.ceil(new - now - period)}
  end
  tats[i] = math.min(new, now + 2 * period)
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', string.format('%d', math.max(1, math.ceil(tats[i] - now))))
end
return {0, 0}
