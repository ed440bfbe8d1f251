--[[
  A waiter gives up (abort, timeout): it leaves the queue, and whoever behind it now fits is served.
  If it was granted at the same moment, the permits are given back at once.

  Input:
    KEYS[1..4] meta, holders, info, waiters
    ARGV[1] waiter id
    ARGV[2] wake channel prefix (grants go to `<prefix>:<owner>`)
  Output:
    1 left the queue, 2 it had just been granted: released, 0 not found
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

local entry = rcall('HGET', KEYS[3], ARGV[1])
if not entry then
  return 0
end
local kind, permits = entryKind(entry)
rcall('HDEL', KEYS[3], ARGV[1])
local m = rcall('HMGET', KEYS[1], 'limit', 'used', 'ttl')
local used = usedPermits(KEYS, m[2])
if kind == 'w' then
  rcall('ZREM', KEYS[4], ARGV[1])
else
  rcall('ZREM', KEYS[2], ARGV[1])
  used = used - permits
end
local now = nowMs()
local freed = reap(KEYS, now)
used = used - freed
if m[1] then
  used = grant(KEYS, now, used, tonumber(m[1]), ARGV[2])
end
rcall('HSET', KEYS[1], 'used', used)
keep(KEYS, tonumber(m[3] or '0'))
if kind == 'w' then
  return 1
end
return 2
