--[[
  Moves an active group (open or closed) to `failing` or `cancelling`, and broadcasts it.

  Tasks that are neither settled nor running are counted cancelled here, all at once: from now on
  finish-and-start refuses to start them, so this is the only place they are ever counted. Running tasks are
  counted as they leave the run hash.

  Expects KEYS[1] meta, KEYS[3] run; ARGV-independent.
]]
local function stopGroup(metaKey, runKey, eventsChannel, cancelChannel, groupId, newState, reasonJson, now)
  local m = rcall('HMGET', metaKey, 'total', 'ok', 'err', 'cxl')
  local unstarted = tonumber(m[1]) - tonumber(m[2]) - tonumber(m[3]) - tonumber(m[4]) - rcall('HLEN', runKey)
  rcall('HSET', metaKey, 'state', newState, 'reason', reasonJson, 'stoppedAt', now)
  if unstarted > 0 then
    rcall('HINCRBY', metaKey, 'cxl', unstarted)
  end
  -- groupId is restricted to [A-Za-z0-9_.-] and reasonJson is JSON: the concatenation is valid JSON.
  -- "at" (Redis ms) lets each worker measure how long the cancellation took to reach it.
  rcall('PUBLISH', cancelChannel, '{"g":"' .. groupId .. '","r":' .. reasonJson .. ',"at":' .. now .. '}')
  rcall('PUBLISH', eventsChannel, newState)
end
