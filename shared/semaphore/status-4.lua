--[[
  What a dashboard shows: the limit, who holds what until when, who waits in which order. Leases that
  ran out are reaped first, and waiters whose entry ran out are not shown.

  Input:
    KEYS[1..4] meta, holders, info, waiters
    ARGV[1] wake channel prefix (grants go to `<prefix>:<owner>`)
  Output:
    { now, limit, used, seq, holders, waiters, waits }
      holders: flat list of id, entry, lease expiry
      waiters: flat list of id, entry (in queue order)
      waits: grants that had to wait: count, total ms waited, longest wait ms
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "../lua-includes/numbers"
--- @include "includes/entries"
--- @include "../lua-includes/bulk"
--- @include "includes/used"
--- @include "includes/reap"
--- @include "includes/grant"
--- @include "includes/keep"

local now = nowMs()
local m = rcall('HMGET', KEYS[1], 'limit', 'used', 'seq', 'waits', 'waitMs', 'waitMax', 'ttl')
local freed = reap(KEYS, now)
local used = usedPermits(KEYS, m[2]) - freed
if freed > 0 and m[1] then
  used = grant(KEYS, now, used, tonumber(m[1]), ARGV[1])
  rcall('HSET', KEYS[1], 'used', used)
  keep(KEYS, tonumber(m[7] or '0'))
end
local holders = {}
local byExpiry = rcall('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #byExpiry, 2 do
  holders[#holders + 1] = byExpiry[i]
  holders[#holders + 1] = rcall('HGET', KEYS[3], byExpiry[i]) or ''
  holders[#holders + 1] = byExpiry[i + 1]
end
local waiters = {}
for _, id in ipairs(rcall('ZRANGE', KEYS[4], 0, -1)) do
  local entry = rcall('HGET', KEYS[3], id)
  local expiresAt = entry and tonumber(string.match(entry, '^w %d+ %d+ %d+ (%d+)'))
  if expiresAt and expiresAt > now then
    waiters[#waiters + 1] = id
    waiters[#waiters + 1] = entry
  end
end
local waits = { tonumber(m[4] or '0'), tonumber(m[5] or '0'), tonumber(m[6] or '0') }
return { now, tonumber(m[1] or '0'), used, tonumber(m[3] or '0'), holders, waiters, waits }
