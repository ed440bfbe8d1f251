--[[
  Workers are about to run task handlers of one group: decides, for each, whether it may, and marks it
  running. This is the durable half of cancellation: a worker that missed every broadcast still asks
  here.

  Expects the five group keys (meta, out, run, fails, cxl); ARGV[1..4] events channel, cancel channel,
  group id, epoch of the tasks' jobs; ARGV[first..] per task: index, run token (who runs it: worker,
  job id, attempt).
  Returns per task:
     1 run it
     0 already settled (finished, or cancelled while queued): do not run
     2 the group is stopping or finished: do not run
    -1 the group does not exist, or is another epoch's (a job left from an earlier group of that id)
]]
local function startAttempts(keys, argv, first, now)
  local metaKey, outKey, runKey, cxlKey = keys[1], keys[2], keys[3], keys[5]
  local result = {}
  local m = rcall('HMGET', metaKey, 'state', 'deadlineAt', 'epoch')
  local state = m[1]
  if not state or m[3] ~= argv[4] then
    for i = first, #argv, 2 do
      result[#result + 1] = -1
    end
    return result
  end
  local active = state == 'open' or state == 'closed'
  local deadlineAt = tonumber(m[2])
  if active and deadlineAt > 0 and now >= deadlineAt then
    stopGroup(metaKey, runKey, argv[1], argv[2], argv[3], 'cancelling',
      '{"kind":"deadline","message":"the group deadline passed"}', now)
    active = false
    state = 'cancelling'
  end
  -- Cancel requests for single running tasks are rare: look them up only if there are any.
  local anyCancel = active and rcall('EXISTS', cxlKey) == 1
  local stopping = state == 'failing' or state == 'cancelling'
  local settledHere = false
  -- Settled by this call (a duplicate start of it later in the batch must not run).
  local cancelledHere = {}
  local indexes = {}
  for i = first, #argv, 2 do
    indexes[#indexes + 1] = argv[i]
  end
  local stored = hmgetAll(outKey, indexes)
  -- Marked running with one HSET for the whole batch (lua-includes/bulk).
  local running = {}

  for k = 1, #indexes do
    local index, token = indexes[k], argv[first + (k - 1) * 2 + 1]
    if stored[k] or cancelledHere[index] then
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
        cancelledHere[index] = true
        result[#result + 1] = 0
      else
        running[#running + 1] = index
        running[#running + 1] = token
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
  if #running > 0 then
    bulk('HSET', runKey, running)
    rcall('HSET', metaKey, 'progressAt', now)
  end
  if settledHere then
    settleGroup(keys, argv[1], now)
  end
  return result
end
