--[[
  Closes a group: its producer has left the block and adds nothing more (running tasks still may).
  A closed group finishes as soon as its last task settles.

  Input:
    KEYS[1..5] meta, out, run, fails, cxl
    ARGV[1] events channel
    ARGV[2] epoch of the caller's group ("" for any): another incarnation of the id counts as none
  Output:
    { state after closing ("" if the group does not exist), 1 if this call finished the group }
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "includes/settle-group"

local m = rcall('HMGET', KEYS[1], 'state', 'epoch')
local state = m[1]
if not state or (ARGV[2] ~= '' and m[2] ~= ARGV[2]) then
  return { '', 0 }
end
if state == 'open' then
  rcall('HSET', KEYS[1], 'state', 'closed', 'closed', '1')
else
  rcall('HSET', KEYS[1], 'closed', '1')
end
local final = settleGroup(KEYS, ARGV[1], nowMs())
if final then
  return { final, 1 }
end
return { rcall('HGET', KEYS[1], 'state'), 0 }
