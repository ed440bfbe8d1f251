--[[
  One process's heartbeat for one semaphore: renews the leases it holds and the entries of its waiters,
  and says what became of each. It is also how a waiter whose wake message was missed (its subscriber
  was reconnecting) learns that it was granted, and how expired leases are noticed with no other call.

  Input:
    KEYS[1..4] meta, holders, info, waiters
    ARGV[1] lease, ms
    ARGV[2] waiter entry lifetime, ms
    ARGV[3] wake channel prefix (grants go to `<prefix>:<owner>`)
    ARGV[4] idle ttl, ms (0 = this process sets none; kept in meta, see includes/keep)
    ARGV[5] number of holder ids that follow
    ARGV[6..] holder ids, then waiter ids
  Output:
    { msToNextExpiry, holder results..., waiter results... }
      holder: 1 renewed, 0 lost (its lease had run out)
      waiter: 0 still queued (renewed), -1 gone (its entry ran out), or the fencing token it was granted
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
local leaseMs, waiterTtl = tonumber(ARGV[1]), tonumber(ARGV[2])
local m = rcall('HMGET', KEYS[1], 'limit', 'used', 'ttl')
local ttl = idleTtl(KEYS, ARGV[4], m[3])
local freed = reap(KEYS, now)
local used = usedPermits(KEYS, m[2]) - freed
if m[1] and (freed > 0 or used < tonumber(m[1])) then
  used = grant(KEYS, now, used, tonumber(m[1]), ARGV[3])
end
if m[1] and (freed > 0 or m[2] ~= tostring(used)) then
  rcall('HSET', KEYS[1], 'used', used)
end
local holders = tonumber(ARGV[5])
local result = { 0 }
for i = 6, #ARGV do
  local id = ARGV[i]
  local entry = rcall('HGET', KEYS[3], id)
  if i < 6 + holders then
    if entry and string.sub(entry, 1, 1) == 'h' then
      rcall('ZADD', KEYS[2], now + leaseMs, id)
      result[#result + 1] = 1
    else
      result[#result + 1] = 0
    end
  elseif not entry then
    result[#result + 1] = -1
  elseif string.sub(entry, 1, 1) == 'h' then
    -- Granted while it waited (its wake may have been missed): its lease runs from this renewal.
    rcall('ZADD', KEYS[2], now + leaseMs, id)
    result[#result + 1] = tonumber(string.match(entry, '^h %d+ (%d+)'))
  else
    local permits, lease, since, _, owner = string.match(entry, '^w (%d+) (%d+) (%d+) (%d+) (.*)$')
    rcall('HSET', KEYS[3], id, waiterEntry(permits, lease, since, now + waiterTtl, owner))
    result[#result + 1] = 0
  end
end
keep(KEYS, ttl)
local first = rcall('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
result[1] = -1
if first[2] then
  result[1] = math.max(0, tonumber(first[2]) - now)
end
return result
