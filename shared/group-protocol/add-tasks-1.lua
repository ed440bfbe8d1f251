--[[
  Allocates `count` task indexes at the end of the group. Indexes are the group's creation order:
  results come back in it. Allocating counts as progress (progressAt): the sender adds the jobs only
  after this returns, and the reconciler judges no task lost before its group has been idle for
  staleGroupMs, so a job on its way is never taken for a lost one.

  Input:
    KEYS[1] meta
    ARGV[1] count
  Output:
    the first allocated index, or
    -1 the group does not exist
    -2 the group does not accept tasks (failing, cancelling or finished)
]]
local rcall = redis.call
--- @include "../lua-includes/now"

local state = rcall('HGET', KEYS[1], 'state')
if not state then
  return -1
end
if state ~= 'open' and state ~= 'closed' then
  return -2
end
local count = tonumber(ARGV[1])
rcall('HSET', KEYS[1], 'progressAt', nowMs())
return rcall('HINCRBY', KEYS[1], 'total', count) - count
