--[[
  Gives back the permits of holders whose lease ran out (their process died or stopped renewing).
  Looks at the earliest lease only, unless it has run out: the common case costs one read. Expired
  holders are read (includes/used) and deleted (lua-includes/bulk) a chunk at a time.

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
  local freed = permitsOf(k, expired)
  bulk('HDEL', k[3], expired)
  rcall('ZREMRANGEBYSCORE', k[2], '-inf', now)
  first = rcall('ZRANGE', k[2], 0, 0, 'WITHSCORES')
  if first[2] then
    return freed, tonumber(first[2]) - now
  end
  return freed, -1
end
