--[[
  Changes the limit at run time. Raising it serves waiters at once; lowering it takes nothing away from
  current holders (permits are not revoked) but admits nobody until they are under the new limit.

  Input:
    KEYS[1..4] meta, holders, info, waiters
    ARGV[1] new limit
    ARGV[2] wake channel prefix (grants go to `<prefix>:<owner>`)
  Output:
    { previous limit (0 if none), the last fencing token issued under it }
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "includes/entries"
--- @include "includes/bulk"
--- @include "includes/reap"
--- @include "includes/grant"

local m = rcall('HMGET', KEYS[1], 'limit', 'seq', 'used')
local limit = tonumber(ARGV[1])
rcall('HSET', KEYS[1], 'limit', limit)
local now = nowMs()
local freed = reap(KEYS, now)
rcall('HSET', KEYS[1], 'used', grant(KEYS, now, tonumber(m[3] or '0') - freed, limit, ARGV[2]))
return { tonumber(m[1] or '0'), tonumber(m[2] or '0') }
