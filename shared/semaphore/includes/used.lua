--[[
  The permits in use, as meta counts them. If meta has no count while leases are held (its key was
  deleted or expired without the others), they are counted again from the holders: a lost count must
  never admit more than the limit.

  Expects KEYS: meta, holders, info, waiters; `stored` is meta's `used` (false if absent).
]]
local function usedPermits(k, stored)
  if stored then
    return tonumber(stored)
  end
  local ids = rcall('ZRANGE', k[2], 0, -1)
  local used = 0
  for i = 1, #ids, 500 do
    local entries = rcall('HMGET', k[3], unpack(ids, i, math.min(i + 499, #ids)))
    for _, entry in ipairs(entries) do
      if entry then
        local _, permits = entryKind(entry)
        used = used + permits
      end
    end
  end
  return used
end
