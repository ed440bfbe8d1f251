--[[
  Workers are about to run task handlers of one group: decides, for each, whether it may, and marks it
  running. A batch: the tasks a worker starts at the same moment go in one call. This is the durable
  half of cancellation: a worker that missed every broadcast still asks here.

  Input:
    KEYS[1..5] meta, out, run, fails, cxl
    ARGV[1] events channel
    ARGV[2] cancel channel
    ARGV[3] group id
    ARGV[4..] per task: index, run token (who runs it: job id, attempt, worker)
  Output:
    per task:
       1 run it
       0 already settled (finished, or cancelled while queued): do not run
       2 the group is stopping or finished: do not run
      -1 the group does not exist
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "includes/stop-group"
--- @include "includes/settle-group"

local metaKey, outKey, runKey, failsKey, cxlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local result = {}
local m = rcall('HMGET', metaKey, 'state', 'deadlineAt')
local state = m[1]
if not state then
  for i = 4, #ARGV, 2 do
    result[#result + 1] = -1
  end
  return result
end
local now = nowMs()
local active = state == 'open' or state == 'closed'
local deadlineAt = tonumber(m[2])
if active and deadlineAt > 0 and now >= deadlineAt then
  stopGroup(metaKey, runKey, ARGV[1], ARGV[2], ARGV[3], 'cancelling',
    '{"kind":"deadline","message":"the group deadline passed"}', now)
  active = false
  state = 'cancelling'
end
-- Cancel requests for single running tasks are rare: look them up only if there are any.
local anyCancel = active and rcall('EXISTS', cxlKey) == 1
local stopping = state == 'failing' or state == 'cancelling'
local started, settledHere = false, false

for i = 4, #ARGV, 2 do
  local index, token = ARGV[i], ARGV[i + 1]
  if rcall('HEXISTS', outKey, index) == 1 then
    result[#result + 1] = 0
  elseif active then
    local requested = anyCancel and rcall('HGET', cxlKey, index)
    if requested then
      -- Cancel requested while it ran, then its worker died: it is cancelled, not run again.
      rcall('HSET', outKey, index, 'c' .. requested)
      rcall('HINCRBY', metaKey, 'cxl', 1)
      rcall('HDEL', runKey, index)
      rcall('HDEL', cxlKey, index)
      settledHere = true
      result[#result + 1] = 0
    else
      rcall('HSET', runKey, index, token)
      started = true
      result[#result + 1] = 1
    end
  else
    -- Stopping or final. A run entry left by a worker that died mid-task is counted now.
    if stopping and rcall('HDEL', runKey, index) == 1 then
      rcall('HINCRBY', metaKey, 'cxl', 1)
      settledHere = true
    end
    result[#result + 1] = 2
  end
end
if started then
  rcall('HSET', metaKey, 'progressAt', now)
end
if settledHere then
  settleGroup(KEYS, ARGV[1], now)
end
return result
