--[[
  Records how attempts of tasks of one group ended, in order. Exactly-once: the first outcome of a task
  wins; later ones (a retry of a task a stalled worker also finished, a result after the group was
  cancelled) are ignored or counted as cancelled, never twice.

  Expects the five group keys (meta, out, run, fails, cxl); ARGV[1..4] events channel, cancel channel,
  group id, epoch of the attempts' jobs; ARGV[first..last] per attempt:
    index
    kind: ok | err (final failure) | cxl (handler aborted) | release (will retry, or requeued)
    encoded outcome ("v..." value, "e..." error, "c..." cancel reason)
    cancel reason for the siblings if this failure stops a fail-fast group (JSON, or "")
    run token the attempt started with ("" for none: the reconciler's, unconditional)
  Returns the state afterwards ('' if there is no group), 1 if this call brought the group to its
  final state (else 0), and per attempt: 1 counted, 0 ignored (already settled or counted, or stale),
  -1 no group. A group of another epoch is no group: the id was used again after the attempts' group
  expired, and an old job must not count in the new group.

  A stale attempt changes nothing: one whose task another attempt has started since (its worker
  stalled, BullMQ gave the job to another worker, and the first one woke up). Its late finish must
  not remove the running attempt's entry, or a stopping group would end while that attempt runs.

  The common case (an open group, attempts that succeeded) reads the outcomes once and writes them with
  one command per key (lua-includes/bulk): a script's cost is mostly the commands it runs. Pending
  writes are flushed before a failure stops the group, which counts from the run hash and the counters.
]]
local function finishAttempts(keys, argv, first, last, now)
  local metaKey, outKey, runKey, failsKey, cxlKey = keys[1], keys[2], keys[3], keys[4], keys[5]
  local recordedList = {}
  local m = rcall('HMGET', metaKey, 'state', 'policy', 'epoch')
  local state = m[1]
  if not state or m[3] ~= argv[4] then
    for i = first, last, 5 do
      recordedList[#recordedList + 1] = -1
    end
    return '', 0, recordedList
  end
  local anyCancel = rcall('EXISTS', cxlKey) == 1
  local indexes = {}
  for i = first, last, 5 do
    indexes[#indexes + 1] = argv[i]
  end
  local stored = hmgetAll(outKey, indexes)
  local runners = hmgetAll(runKey, indexes)
  -- Outcomes written by this call, so a task finished twice in one batch counts once.
  local settledHere = {}
  local outcomes, leaving, cancelsDone = {}, {}, {}
  local changed = false
  local ok, cxl = 0, 0

  local function flush()
    bulk('HSET', outKey, outcomes)
    bulk('HDEL', runKey, leaving)
    bulk('HDEL', cxlKey, cancelsDone)
    if ok > 0 then
      rcall('HINCRBY', metaKey, 'ok', ok)
    end
    if cxl > 0 then
      rcall('HINCRBY', metaKey, 'cxl', cxl)
    end
    outcomes, leaving, cancelsDone, ok, cxl = {}, {}, {}, 0, 0
  end

  for k = 1, #indexes do
    local i = first + (k - 1) * 5
    local index, kind, payload, failReason, token = argv[i], argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4]
    local recorded = 0
    if stored[k] or settledHere[index] or (token ~= '' and runners[k] and runners[k] ~= token) then
      recorded = 0
    elseif state == 'open' or state == 'closed' then
      recorded = 1
      leaving[#leaving + 1] = index
      if kind ~= 'release' then
        local requested = anyCancel and rcall('HGET', cxlKey, index)
        if requested and kind ~= 'err' then
          kind = 'cxl'
          payload = 'c' .. requested
        end
        outcomes[#outcomes + 1] = index
        outcomes[#outcomes + 1] = payload
        settledHere[index] = true
        if anyCancel then
          cancelsDone[#cancelsDone + 1] = index
        end
        changed = true
        if kind == 'ok' then
          ok = ok + 1
        elseif kind == 'cxl' then
          cxl = cxl + 1
        else
          -- Everything before it is written first: stopGroup counts the unstarted tasks from them.
          flush()
          rcall('HINCRBY', metaKey, 'err', 1)
          rcall('RPUSH', failsKey, index)
          if m[2] == 'fail-fast' then
            stopGroup(metaKey, runKey, argv[1], argv[2], argv[3], 'failing', failReason, now)
            state = 'failing'
          end
        end
      end
    elseif state == 'failing' or state == 'cancelling' then
      -- Not running: it was counted when the group stopped (or by an earlier finisher).
      flush()
      if rcall('HDEL', runKey, index) == 1 then
        recorded = 1
        changed = true
        if anyCancel then
          rcall('HDEL', cxlKey, index)
        end
        if kind == 'err' then
          -- A real failure that raced the cancellation: reported, not hidden.
          rcall('HSET', outKey, index, payload)
          settledHere[index] = true
          rcall('HINCRBY', metaKey, 'err', 1)
          rcall('RPUSH', failsKey, index)
        else
          -- A result after the group stopped is discarded: the task counts as cancelled.
          cxl = cxl + 1
        end
      end
    end
    recordedList[#recordedList + 1] = recorded
  end
  flush()

  if changed then
    rcall('HSET', metaKey, 'progressAt', now)
    local final = settleGroup(keys, argv[1], now)
    if final then
      return final, 1, recordedList
    end
  end
  return state, 0, recordedList
end
