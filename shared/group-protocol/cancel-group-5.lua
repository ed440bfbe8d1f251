--[[
  Cancels a group: durable state first, then the broadcast (inside stopGroup). Queued tasks will
  never start; running ones are aborted by their workers.

  Input:
    KEYS[1..5] meta, out, run, fails, cxl
    ARGV[1] reason (JSON)
    ARGV[2] events channel
    ARGV[3] cancel channel
    ARGV[4] group id
    ARGV[5] epoch of the caller's group ("" for any): another incarnation of the id counts as none
  Output:
    { state afterwards ("" if the group does not exist), 1 if this call finished the group }
    A group already stopping or finished is left as it is.
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "includes/stop-group"
--- @include "includes/settle-group"

local m = rcall('HMGET', KEYS[1], 'state', 'epoch')
local state = m[1]
if not state or (ARGV[5] ~= '' and m[2] ~= ARGV[5]) then
  return { '', 0 }
end
if state ~= 'open' and state ~= 'closed' then
  return { state, 0 }
end
local now = nowMs()
stopGroup(KEYS[1], KEYS[3], ARGV[2], ARGV[3], ARGV[4], 'cancelling', ARGV[1], now)
local final = settleGroup(KEYS, ARGV[2], now)
if final then
  return { final, 1 }
end
return { 'cancelling', 0 }
