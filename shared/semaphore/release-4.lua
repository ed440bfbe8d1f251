--[[
  Gives permits back and hands them to the next waiters, for a batch of holders of one process. Only a
  holder's own id is released: a permit whose lease already ran out (and whose permits may now be
  someone else's) is not.

  Input:
    KEYS[1..4] meta, holders, info, waiters
    ARGV[1] wake channel
    ARGV[2..] holder ids
  Output:
    per id: 1 released, 0 it was not held any more (its lease ran out, or it was released before)
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "includes/entries"
--- @include "includes/reap"
--- @include "includes/grant"

local m = rcall('HMGET', KEYS[1], 'limit', 'used')
local used = tonumber(m[2] or '0')
local result = {}
for i = 2, #ARGV do
  local entry = rcall('HGET', KEYS[3], ARGV[i])
  if entry and string.sub(entry, 1, 1) == 'h' then
    local _, permits = entryKind(entry)
    rcall('ZREM', KEYS[2], ARGV[i])
    rcall('HDEL', KEYS[3], ARGV[i])
    used = used - permits
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
local now = nowMs()
local freed = reap(KEYS, now)
rcall('HSET', KEYS[1], 'used', grant(KEYS, now, used - freed, tonumber(m[1] or '0'), ARGV[1]))
return result
