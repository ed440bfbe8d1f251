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
  Returns the state afterwards ('' if there is no group), 1 if this call brought the group to its
  final state (else 0), and per attempt: 1 counted, 0 ignored (already settled or counted), -1 no group.
  A group of another epoch is no group: the id was used again after the attempts' group expired, and
  an old job must not count in the new group.
]]
local function finishAttempts(keys, argv, first, last, now)
  local metaKey, outKey, runKey, failsKey, cxlKey = keys[1], keys[2], keys[3], keys[4], keys[5]
  local recordedList = {}
  local m = rcall('HMGET', metaKey, 'state', 'policy', 'epoch')
  local state = m[1]
  if not state or m[3] ~= argv[4] then
    for i = first, last, 4 do
      recordedList[#recordedList + 1] = -1
    end
    return '', 0, recordedList
  end
  local anyCancel = rcall('EXISTS', cxlKey) == 1
  local changed = false
  local ok, err, cxl = 0, 0, 0

  for i = first, last, 4 do
    local index, kind, payload, failReason = argv[i], argv[i + 1], argv[i + 2], argv[i + 3]
    local recorded = 0
    if rcall('HEXISTS', outKey, index) == 1 then
      recorded = 0
    elseif state == 'open' or state == 'closed' then
      recorded = 1
      if kind == 'release' then
        rcall('HDEL', runKey, index)
      else
        local requested = anyCancel and rcall('HGET', cxlKey, index)
        if requested and kind ~= 'err' then
          kind = 'cxl'
          payload = 'c' .. requested
        end
        rcall('HSET', outKey, index, payload)
        rcall('HDEL', runKey, index)
        if anyCancel then
          rcall('HDEL', cxlKey, index)
        end
        changed = true
        if kind == 'ok' then
          ok = ok + 1
        elseif kind == 'cxl' then
          cxl = cxl + 1
        else
          -- Counts first: stopGroup counts the unstarted tasks from them.
          rcall('HINCRBY', metaKey, 'ok', ok)
          rcall('HINCRBY', metaKey, 'cxl', cxl)
          rcall('HINCRBY', metaKey, 'err', 1)
          ok, cxl = 0, 0
          rcall('RPUSH', failsKey, index)
          if m[2] == 'fail-fast' then
            stopGroup(metaKey, runKey, argv[1], argv[2], argv[3], 'failing', failReason, now)
            state = 'failing'
          end
        end
      end
    elseif state == 'failing' or state == 'cancelling' then
      -- Not running: it was counted when the group stopped (or by an earlier finisher).
      if rcall('HDEL', runKey, index) == 1 then
        recorded = 1
        changed = true
        if anyCancel then
          rcall('HDEL', cxlKey, index)
        end
        if kind == 'err' then
          -- A real failure that raced the cancellation: reported, not hidden.
          rcall('HSET', outKey, index, payload)
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

  if ok > 0 then
    rcall('HINCRBY', metaKey, 'ok', ok)
  end
  if cxl > 0 then
    rcall('HINCRBY', metaKey, 'cxl', cxl)
  end
  if changed then
    rcall('HSET', metaKey, 'progressAt', now)
    local final = settleGroup(keys, argv[1], now)
    if final then
      return final, 1, recordedList
    end
  end
  return rcall('HGET', metaKey, 'state'), 0, recordedList
end
