--[[
  Cancels one task; the group goes on (asyncio: task.cancel() inside a TaskGroup).

  Input:
    KEYS[1..5] meta, out, run, fails, cxl
    ARGV[1] task index
    ARGV[2] reason (JSON)
    ARGV[3] events channel
    ARGV[4] cancel channel
    ARGV[5] group id
    ARGV[6] epoch of the caller's group ("" for any): another incarnation of the id counts as none
  Output:
     1 it had not started: settled as cancelled now, it will never run
     2 it is running: its worker is asked to abort it (the outcome comes when the handler returns)
     0 nothing to do: already settled, or the group is stopping or finished
    -1 the group does not exist
    -3 the group has no task with that index
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "includes/settle-group"

local metaKey, outKey, runKey, failsKey, cxlKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local index = ARGV[1]
local m = rcall('HMGET', metaKey, 'state', 'total', 'epoch')
local state = m[1]
if not state or (ARGV[6] ~= '' and m[3] ~= ARGV[6]) then
  return -1
end
if tonumber(index) >= tonumber(m[2]) then
  return -3
end
if (state ~= 'open' and state ~= 'closed') or rcall('HEXISTS', outKey, index) == 1 then
  return 0
end
if rcall('HEXISTS', runKey, index) == 1 then
  rcall('HSET', cxlKey, index, ARGV[2])
  rcall('PUBLISH', ARGV[4], '{"g":"' .. ARGV[5] .. '","i":' .. index .. ',"r":' .. ARGV[2] .. '}')
  return 2
end
rcall('HSET', outKey, index, 'c' .. ARGV[2])
rcall('HINCRBY', metaKey, 'cxl', 1)
settleGroup(KEYS, ARGV[3], nowMs())
return 1
