--[[
  Gives back the permits of holders whose lease ran out (their process died or stopped renewing).
  Looks at the earliest lease only, unless it has run out: the common case costs one read. Expired
  holders are read and deleted a chunk at a time (Lua's unpack has a limit: thousands of holders can
  expire at once when a process holding many permits dies).

  Expects KEYS: meta, holders, info, waiters.
  Returns the permits freed, and the ms until the earliest remaining lease runs out (-1: no holder).
]]
local function reap(k, now)
  local first = rcall('ZRANGE', k[2], 0, 0, 'WITHSCORES')
  if not first[2] then
    return 0, -1
  end
  if tonumber(first[2]) > now then
    return 0, tonumber(first[2]) - now
  end
  local expired = rcall('ZRANGEBYSCORE', k[2], '-inf', now)
  local freed = 0
  for i = 1, #expired, 500 do
    local entries = rcall('HMGET', k[3], unpack(expired, i, math.min(i + 499, #expired)))
    for _, entry in ipairs(entries) do
      if entry then
        local _, permits = entryKind(entry)
        freed = freed + permits
      end
    end
  end
  bulk('HDEL', k[3], expired)
  rcall('ZREMRANGEBYSCORE', k[2], '-inf', now)
  first = rcall('ZRANGE', k[2], 0, 0, 'WITHSCORES')
  if first[2] then
    return freed, tonumber(first[2]) - now
  end
  return freed, -1
end
