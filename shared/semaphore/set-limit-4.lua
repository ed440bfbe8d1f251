--[[
  Changes the limit at run time. Raising it serves waiters at once; lowering it takes nothing away from
  current holders (permits are not revoked) but admits nobody until they are under the new limit.
  Waiters that ask for more permits than the new limit are told so ("<id>=0" on their wake channel: no
  token is 0) and leave the queue: they could never be served, and would block everyone behind them.

  Input:
    KEYS[1..4] meta, holders, info, waiters
    ARGV[1] new limit
    ARGV[2] wake channel prefix (grants go to `<prefix>:<owner>`)
  Output:
    { previous limit (0 if none), the last fencing token issued under it }
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

-- Waiters asking for more than the new limit could never be served: refused now, wherever they queue.
local function refuseOversized(limit, wakeChannel)
  local ids = rcall('ZRANGE', KEYS[4], 0, -1)
  local leaving, owners, told = {}, {}, {}
  for i = 1, #ids, 500 do
    local chunk = { unpack(ids, i, math.min(i + 499, #ids)) }
    local entries = rcall('HMGET', KEYS[3], unpack(chunk))
    for j, id in ipairs(chunk) do
      local permits, owner = string.match(entries[j] or '', '^w (%d+) %d+ %d+ %d+ (.*)$')
      if permits and tonumber(permits) > limit then
        leaving[#leaving + 1] = id
        if not told[owner] then
          owners[#owners + 1] = owner
          told[owner] = {}
        end
        told[owner][#told[owner] + 1] = id .. '=0'
      end
    end
  end
  bulk('ZREM', KEYS[4], leaving)
  bulk('HDEL', KEYS[3], leaving)
  for _, owner in ipairs(owners) do
    rcall('PUBLISH', wakeChannel .. ':' .. owner, table.concat(told[owner], ' '))
  end
end

local m = rcall('HMGET', KEYS[1], 'limit', 'seq', 'used', 'ttl')
local limit = tonumber(ARGV[1])
rcall('HSET', KEYS[1], 'limit', limit)
if limit < tonumber(m[1] or '0') then
  refuseOversized(limit, ARGV[2])
end
local now = nowMs()
local freed = reap(KEYS, now)
rcall('HSET', KEYS[1], 'used', (grant(KEYS, now, usedPermits(KEYS, m[3]) - freed, limit, ARGV[2])))
keep(KEYS, tonumber(m[4] or '0'))
return { tonumber(m[1] or '0'), tonumber(m[2] or '0') }
