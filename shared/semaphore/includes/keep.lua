--[[
  The idle TTL (the `idleTtlMs` option; none by default). Every script that writes ends here, so a key
  it made in passing (a holders set emptied and made again by a grant) expires with the others and
  never outlives meta: otherwise a lease could outlive the count of permits in use. The TTL is kept in
  meta (`ttl`), so scripts called without one (setLimit, status, cancel, the CLI) keep it too.

  Expects KEYS: meta, holders, info, waiters.
]]
-- The TTL in force: the one this call gives (stored in meta if it changed), else meta's.
local function idleTtl(k, given, stored)
  local ttl = tonumber(given)
  if ttl > 0 and stored ~= given then
    rcall('HSET', k[1], 'ttl', ttl)
  end
  if ttl > 0 then
    return ttl
  end
  return tonumber(stored or '0')
end

local function keep(k, ttl)
  if ttl and ttl > 0 then
    local text = int(ttl)
    for i = 1, 4 do
      rcall('PEXPIRE', k[i], text)
    end
  end
end
