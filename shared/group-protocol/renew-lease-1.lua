--[[
  The producer of a group it has not closed yet is alive: push its lease forward.

  Input:
    KEYS[1] meta
    ARGV[1] lease, ms
    ARGV[2] epoch of the producer's group ("" for any): a group created again under the id after that
            one expired is another producer's, and its lease is not this producer's to keep
  Output:
    1 renewed, 0 the group is closed, finished, gone or another incarnation (nothing to renew)
]]
local rcall = redis.call
--- @include "../lua-includes/now"

local m = rcall('HMGET', KEYS[1], 'state', 'closed', 'epoch')
if not m[1] or m[2] == '1' or (ARGV[2] ~= '' and m[3] ~= ARGV[2]) then
  return 0
end
rcall('HSET', KEYS[1], 'leaseUntil', nowMs() + tonumber(ARGV[1]))
return 1
