--[[
  One process's releases and acquires for one semaphore, in one script call: what it gives back and asks
  for at the same moment goes together. Releases come first, so the permits they free go to the
  waiters already queued (first come, first served), then the new requests are served or queued behind
  them, in order.

  Input:
    KEYS[1] meta    hash: limit, used (permits held), seq (fencing counter), wseq (arrival counter)
    KEYS[2] holders zset: holder id -> lease expiry (Redis ms)
    KEYS[3] info    hash: id -> holder or waiter entry (see includes/entries)
    KEYS[4] waiters zset: waiter id -> arrival number
    ARGV[1] lease, ms
    ARGV[2] owner (host:pid)
    ARGV[3] limit to set if the semaphore has none yet ("" for none)
    ARGV[4] waiter entry lifetime, ms (renewed while waiting)
    ARGV[5] wake channel prefix (grants go to `<prefix>:<owner>`)
    ARGV[6] idle ttl, ms (0 = this process sets none; kept in meta, see includes/keep)
    ARGV[7] the calling instance's id prefix: every id it makes starts with it (see includes/grant)
    ARGV[8] R, the number of holder ids to release
    ARGV[9 .. 8 + R] holder ids to release. Only a holder's own id is released: a permit whose lease
              already ran out (and whose permits may now be someone else's) is not. Expired leases are
              reaped first, so a release that comes too late says so even if nobody reaped it yet.
    ARGV[9 + R ..] per request: id (a granted waiter keeps its id as holder), permits, wait (1 = queue if
              not available, 0 = only try)
  Output: one string, the fields below separated by spaces (an array reply costs the client a decode
  per element, several times what splitting one string does):
    limit, msToNextExpiry, R release results, then per request: code, value, then "<id>=<token>" per
      grant to the calling instance's earlier waiters (includes/grant: its own grants come in the reply,
      not as a message; token 0: refused, more permits than the limit)
      release  1 released, 0 it was not held any more (its lease ran out, or it was released before)
      code  1 granted (value: fencing token)
            0 not available, try only
            2 queued (value: position, from 1)
           -1 more permits than the limit
           -2 no limit set anywhere (limit is 0)
      msToNextExpiry: until the earliest lease runs out, -1 if nobody holds a permit (read before the
                      releases: at worst a little early, and the check it schedules looks again)
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

local leaseMs, owner, waiterTtl, wake = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[4]), ARGV[5]
local releases = tonumber(ARGV[8])
local first = 9 + releases
local now = nowMs()
local m = rcall('HMGET', KEYS[1], 'limit', 'used', 'ttl')
local used0 = usedPermits(KEYS, m[2])
local freed, nextExpiry = reap(KEYS, now)
local used = used0 - freed
local result = { '0', '-1' }
local ttl = idleTtl(KEYS, ARGV[6], m[3])

if releases > 0 then
  local held = rcall('HMGET', KEYS[3], unpack(ARGV, 9, 8 + releases))
  local released = {}
  for i = 1, releases do
    local entry = held[i]
    if entry and string.sub(entry, 1, 1) == 'h' then
      local _, permits = entryKind(entry)
      released[#released + 1] = ARGV[8 + i]
      used = used - permits
      result[#result + 1] = '1'
    else
      result[#result + 1] = '0'
    end
  end
  bulk('ZREM', KEYS[2], released)
  bulk('HDEL', KEYS[3], released)
end

local limit = tonumber(m[1] or '')
if not limit and ARGV[3] ~= '' and #ARGV >= first then
  limit = tonumber(ARGV[3])
  rcall('HSET', KEYS[1], 'limit', limit)
end
if not limit then
  -- No limit set anywhere: nothing can be granted.
  for i = first, #ARGV, 3 do
    result[#result + 1] = '-2'
    result[#result + 1] = '0'
  end
  if used ~= used0 then
    rcall('HSET', KEYS[1], 'used', used)
  end
  keep(KEYS, ttl)
  return table.concat(result, ' ')
end
result[1] = int(limit)
local queued = rcall('ZCARD', KEYS[4])
local mine = {}
if queued > 0 and used < limit then
  -- Room while others wait: after releases, a lease that ran out, or behind a dead or oversized head.
  used, mine = grant(KEYS, now, used, limit, wake, ARGV[7])
  queued = rcall('ZCARD', KEYS[4])
end
local ids = {}
for i = first, #ARGV, 3 do
  ids[#ids + 1] = ARGV[i]
end
local entries = #ids > 0 and rcall('HMGET', KEYS[3], unpack(ids)) or {}
-- The writes are gathered and sent once per key at the end (lua-includes/bulk).
local counters = rcall('HMGET', KEYS[1], 'seq', 'wseq')
local seq, wseq = tonumber(counters[1] or '0'), tonumber(counters[2] or '0')
local seq0, wseq0 = seq, wseq
local holderScores, waiterScores, newEntries = {}, {}, {}
-- Numbers that go into entries and scores, printed once (lua-includes/numbers).
local nowText, leaseText, leaseEnd, waiterEnd = int(now), ARGV[1], int(now + leaseMs), int(now + waiterTtl)
for i = first, #ARGV, 3 do
  local id, permitsText, wait = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local permits = number(permitsText)
  local entry = entries[(i - first) / 3 + 1]
  if permits > limit then
    result[#result + 1] = '-1'
    result[#result + 1] = '0'
  elseif entry then
    -- A repeated call (a reply lost to a reconnect) finds its earlier self.
    if string.sub(entry, 1, 1) == 'h' then
      result[#result + 1] = '1'
      result[#result + 1] = string.match(entry, '^h %d+ (%d+)')
    else
      result[#result + 1] = '2'
      result[#result + 1] = int((rcall('ZRANK', KEYS[4], id) or 0) + 1)
    end
  elseif queued == 0 and used + permits <= limit then
    seq = seq + 1
    local token = int(seq)
    holderScores[#holderScores + 1] = leaseEnd
    holderScores[#holderScores + 1] = id
    newEntries[#newEntries + 1] = id
    newEntries[#newEntries + 1] = holderEntry(permitsText, token, nowText, leaseText, owner)
    used = used + permits
    if nextExpiry < 0 then
      nextExpiry = leaseMs
    end
    result[#result + 1] = '1'
    result[#result + 1] = token
  elseif wait ~= '1' then
    result[#result + 1] = '0'
    result[#result + 1] = '0'
  else
    wseq = wseq + 1
    waiterScores[#waiterScores + 1] = int(wseq)
    waiterScores[#waiterScores + 1] = id
    newEntries[#newEntries + 1] = id
    newEntries[#newEntries + 1] = waiterEntry(permitsText, leaseText, nowText, waiterEnd, owner)
    queued = queued + 1
    result[#result + 1] = '2'
    result[#result + 1] = int(queued)
  end
end
bulk('ZADD', KEYS[2], holderScores)
bulk('ZADD', KEYS[4], waiterScores)
if #newEntries > 0 then
  newEntries[#newEntries + 1] = formatField
  newEntries[#newEntries + 1] = formatText
end
bulk('HSET', KEYS[3], newEntries)
if seq ~= seq0 or wseq ~= wseq0 or used ~= used0 or m[2] ~= int(used) then
  rcall('HSET', KEYS[1], 'seq', int(seq), 'wseq', int(wseq), 'used', int(used))
end
keep(KEYS, ttl)
result[2] = int(nextExpiry)
for i = 1, #mine do
  result[#result + 1] = mine[i]
end
return table.concat(result, ' ')
