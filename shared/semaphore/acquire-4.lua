--[[
  Takes permits, or queues for them (first come, first served), for a batch of requests from one
  process: one script call serves every acquire that process issued at the same moment, in order.

  Input:
    KEYS[1] meta    hash: limit, used (permits held), seq (fencing counter), wseq (arrival counter)
    KEYS[2] holders zset: holder id -> lease expiry (Redis ms)
    KEYS[3] info    hash: id -> holder or waiter entry (see includes/entries)
    KEYS[4] waiters zset: waiter id -> arrival number
    ARGV[1] lease, ms
    ARGV[2] owner (host:pid)
    ARGV[3] limit to set if the semaphore has none yet ("" for none)
    ARGV[4] waiter entry lifetime, ms (renewed while waiting)
    ARGV[5] wake channel
    ARGV[6] idle ttl, ms (0 = the keys never expire)
    ARGV[7..] per request: id (a granted waiter keeps its id as holder), permits, wait (1 = queue if not
              available, 0 = only try)
  Output:
    { limit, msToNextExpiry, then per request: code, value }
      code  1 granted (value: fencing token)
            0 not available, try only
            2 queued (value: position, from 1)
           -1 more permits than the limit
           -2 no limit set anywhere (limit is 0)
      msToNextExpiry: until the earliest lease runs out, -1 if nobody holds a permit
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "includes/entries"
--- @include "includes/reap"
--- @include "includes/grant"

local leaseMs, owner, waiterTtl, wake = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[4]), ARGV[5]
local m = rcall('HMGET', KEYS[1], 'limit', 'used')
local limit = tonumber(m[1] or '')
local result = { 0, -1 }
if not limit then
  if ARGV[3] == '' then
    for i = 7, #ARGV, 3 do
      result[#result + 1] = -2
      result[#result + 1] = 0
    end
    return result
  end
  limit = tonumber(ARGV[3])
  rcall('HSET', KEYS[1], 'limit', limit)
end
result[1] = limit
local now = nowMs()
local ttl = tonumber(ARGV[6])
if ttl > 0 then
  for i = 1, #KEYS do
    rcall('PEXPIRE', KEYS[i], ttl)
  end
end
local used0 = tonumber(m[2] or '0')
local freed, nextExpiry = reap(KEYS, now)
local used = used0 - freed
local queued = rcall('ZCARD', KEYS[4])
if queued > 0 and used < limit then
  -- Room while others wait: only after a lease ran out, or behind a dead or oversized head.
  used = grant(KEYS, now, used, limit, wake)
  queued = rcall('ZCARD', KEYS[4])
end

for i = 7, #ARGV, 3 do
  local id, permits, wait = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local entry = rcall('HGET', KEYS[3], id)
  if permits > limit then
    result[#result + 1] = -1
    result[#result + 1] = 0
  elseif entry then
    -- A repeated call (a reply lost to a reconnect) finds its earlier self.
    if string.sub(entry, 1, 1) == 'h' then
      result[#result + 1] = 1
      result[#result + 1] = tonumber(string.match(entry, '^h %d+ (%d+)'))
    else
      result[#result + 1] = 2
      result[#result + 1] = (rcall('ZRANK', KEYS[4], id) or 0) + 1
    end
  elseif queued == 0 and used + permits <= limit then
    local token = rcall('HINCRBY', KEYS[1], 'seq', 1)
    rcall('ZADD', KEYS[2], now + leaseMs, id)
    rcall('HSET', KEYS[3], id, holderEntry(permits, token, now, leaseMs, owner))
    used = used + permits
    if nextExpiry < 0 then
      nextExpiry = leaseMs
    end
    result[#result + 1] = 1
    result[#result + 1] = token
  elseif wait ~= '1' then
    result[#result + 1] = 0
    result[#result + 1] = 0
  else
    local arrival = rcall('HINCRBY', KEYS[1], 'wseq', 1)
    rcall('ZADD', KEYS[4], arrival, id)
    rcall('HSET', KEYS[3], id, waiterEntry(permits, leaseMs, now, now + waiterTtl, owner))
    queued = queued + 1
    result[#result + 1] = 2
    result[#result + 1] = queued
  end
end
if used ~= used0 then
  rcall('HSET', KEYS[1], 'used', used)
end
result[2] = nextExpiry
return result
