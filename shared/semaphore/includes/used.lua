--[[
  Permits held by holder ids, and the permits in use as meta counts them. If meta has no count while
  leases are held (its key was deleted or expired without the others), they are counted again from the
  holders: a lost count must never admit more than the limit.

  Expects KEYS: meta, holders, info, waiters. Entries are read a chunk at a time (Lua's unpack has a
  limit: thousands of holders can expire at once when a process holding many permits dies).
]]
local function permitsOf(k, ids)
  local permits = 0
  for i = 1, #ids, 500 do
    local entries = rcall('HMGET', k[3], unpack(ids, i, math.min(i + 499, #ids)))
    for _, entry in ipairs(entries) do
      if entry then
        local _, n = entryKind(entry)
        permits = permits + n
      end
    end
  end
  return permits
end

-- `stored` is meta's `used` (false if absent).
local function usedPermits(k, stored)
  if stored then
    return tonumber(stored)
  end
  return permitsOf(k, rcall('ZRANGE', k[2], 0, -1))
end
