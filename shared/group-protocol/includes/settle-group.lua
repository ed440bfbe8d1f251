--[[
  Finishes the group if nothing more can happen in it:
    closed + every task settled            -> succeeded (or failed, when an all-settled task failed)
    closed + failing/cancelling + none running -> failed / cancelled
  A finished group's keys expire after its retention, and the final state is published.

  Expects the five group keys: meta, out, run, fails, cxl.
]]
local function settleGroup(groupKeys, eventsChannel, now)
  local metaKey, runKey = groupKeys[1], groupKeys[3]
  local m = rcall('HMGET', metaKey, 'state', 'closed', 'total', 'ok', 'err', 'cxl', 'retention')
  if m[2] ~= '1' then
    return false
  end
  local state = m[1]
  local final = false
  if state == 'closed' then
    local err = tonumber(m[5])
    if tonumber(m[4]) + err + tonumber(m[6]) >= tonumber(m[3]) then
      if err > 0 then final = 'failed' else final = 'succeeded' end
    end
  elseif state == 'failing' or state == 'cancelling' then
    if rcall('HLEN', runKey) == 0 then
      if state == 'failing' then final = 'failed' else final = 'cancelled' end
    end
  end
  if not final then
    return false
  end
  rcall('HSET', metaKey, 'state', final, 'finishedAt', now)
  local ttl = tonumber(m[7])
  if ttl and ttl > 0 then
    for i = 1, #groupKeys do
      rcall('PEXPIRE', groupKeys[i], ttl)
    end
  end
  rcall('PUBLISH', eventsChannel, final)
  return final
end
