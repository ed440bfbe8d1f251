--[[
  Groups whose maintenance is due (by Redis time).

  Input:
    KEYS[1] live groups (zset: group id -> when to look next)
    ARGV[1] at most this many
  Output:
    group ids
]]
local rcall = redis.call
--- @include "../lua-includes/now"

return rcall('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs(), 'LIMIT', 0, tonumber(ARGV[1]))
