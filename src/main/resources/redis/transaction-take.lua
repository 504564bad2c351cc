--[[
  Reads an authorization transaction and deletes it (GETDEL needs Redis 6.2; this runs on 5).

  Input:
    KEYS[1]  transaction
  Output:
    its value, or nil
]]
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v
