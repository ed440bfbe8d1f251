--[[
  Numbers to text and back, cheaply. A script's numbers go into entries and scores as text, and come
  back out of them; the obvious ways cost the semaphore's hot script about a fifth of its
  instructions (callgrind):
  - Lua turns a number into text with "%.14g", and Redis turns a number argument of redis.call into
    text with "%.17g": for a 13-digit millisecond timestamp both go through libc's floating-point
    printer. int() prints with "%d": the same digits for the integers we keep (all below 2^53).
  - tonumber() parses with strtod, twice (lua_isnumber, then lua_tonumber). A batch's entries repeat
    the same permits, lease and times, so number() remembers what it parsed during the call.
]]
local function int(n)
  return string.format('%d', n)
end

local parsed = {}
local function number(text)
  local n = parsed[text]
  if n == nil and text ~= nil then
    n = tonumber(text)
    parsed[text] = n
  end
  return n
end
