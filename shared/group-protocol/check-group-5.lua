--[[
  Maintenance of one group, run by whichever worker holds the maintenance lock. This is how a group
  reaches a final state with no producer alive: its deadline cancels it, and a producer that
  stopped renewing its lease before closing it is taken as gone (cancel + close).

  Input:
    KEYS[1..5] meta, out, run, fails, cxl
    ARGV[1] events channel
    ARGV[2] cancel channel
    ARGV[3] group id
    ARGV[4] ms until the next look at a group with nothing due
  Output:
    { state, nextCheckAt, idleMs, finished }  ("", 0, 0, 0 if the group does not exist)
      idleMs: time since the group last made progress (tasks added, a task started or finished)
      finished: 1 if this call brought the group to its final state
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "includes/stop-group"
--- @include "includes/settle-group"

local metaKey, runKey = KEYS[1], KEYS[3]
local m = rcall('HMGET', metaKey, 'state', 'closed', 'deadlineAt', 'leaseUntil', 'progressAt')
local state = m[1]
if not state then
  return { '', 0, 0, 0 }
end
local now = nowMs()
local idle = now - tonumber(m[5])
if state == 'succeeded' or state == 'failed' or state == 'cancelled' then
  return { state, 0, idle, 0 }
end
local active = state == 'open' or state == 'closed'
local deadlineAt, leaseUntil = tonumber(m[3]), tonumber(m[4])
if active and deadlineAt > 0 and now >= deadlineAt then
  stopGroup(metaKey, runKey, ARGV[1], ARGV[2], ARGV[3], 'cancelling',
    '{"kind":"deadline","message":"the group deadline passed"}', now)
  active = false
end
if m[2] ~= '1' and now >= leaseUntil then
  if active then
    stopGroup(metaKey, runKey, ARGV[1], ARGV[2], ARGV[3], 'cancelling',
      '{"kind":"producer-lost","message":"the producer stopped renewing its lease before closing the group"}', now)
  end
  -- Nobody is left to close it.
  rcall('HSET', metaKey, 'closed', '1')
end
local final = settleGroup(KEYS, ARGV[1], now)
if final then
  return { final, 0, idle, 1 }
end
state = rcall('HGET', metaKey, 'state')
local nextAt = now + tonumber(ARGV[4])
if active and deadlineAt > 0 and deadlineAt < nextAt then
  nextAt = deadlineAt
end
if rcall('HGET', metaKey, 'closed') ~= '1' and leaseUntil < nextAt then
  nextAt = leaseUntil
end
return { state, nextAt, idle, 0 }
