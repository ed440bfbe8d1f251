--[[
  Allocates `count` task indexes at the end of the group. Indexes are the group's creation order:
  results come back in it. Allocating counts as progress (progressAt): the sender adds the jobs only
  after this returns, and the reconciler judges no task lost before its group has been idle for
  staleGroupMs, so a job on its way is never taken for a lost one.

  Idempotent per request id: ioredis resends a command whose reply a dropped connection lost, and a
  second allocation would leave indexes that no job will ever fill. The first reply is kept for a
  while, and the same request gets it again.

  Input:
    KEYS[1] meta
    KEYS[2] adds: recent replies, request id -> first index (hash)
    ARGV[1] count
    ARGV[2] request id
    ARGV[3] how long to keep the reply, ms (the hash expires that long after the last add)
    ARGV[4] epoch of the caller's group ("" for any): another incarnation of the id counts as none
  Output:
    the first allocated index, or
    -1 the group does not exist
    -2 the group does not accept tasks (failing, cancelling or finished)
]]
local rcall = redis.call
--- @include "../lua-includes/now"

local replied = rcall('HGET', KEYS[2], ARGV[2])
if replied then
  return tonumber(replied)
end
local m = rcall('HMGET', KEYS[1], 'state', 'epoch')
local state = m[1]
if not state or (ARGV[4] ~= '' and m[2] ~= ARGV[4]) then
  return -1
end
if state ~= 'open' and state ~= 'closed' then
  return -2
end
local count = tonumber(ARGV[1])
rcall('HSET', KEYS[1], 'progressAt', nowMs())
local first = rcall('HINCRBY', KEYS[1], 'total', count) - count
rcall('HSET', KEYS[2], ARGV[2], first)
rcall('PEXPIRE', KEYS[2], ARGV[3])
return first
