--[[
  The producer of a group it has not closed yet is alive: push its lease forward.

  Input:
    KEYS[1] meta
    ARGV[1] lease, ms
  Output:
    1 renewed, 0 the group is closed, finished or gone (nothing to renew)
]]
local rcall = redis.call
--- @include "../lua-includes/now"

local m = rcall('HMGET', KEYS[1], 'state', 'closed')
if not m[1] or m[2] == '1' then
  return 0
end
rcall('HSET', KEYS[1], 'leaseUntil', nowMs() + tonumber(ARGV[1]))
return 1
