--[[
  A worker's bookkeeping for one group, in one call: first records how attempts ended
  (includes/finish-attempts), then decides whether tasks about to start may run
  (includes/start-attempts). What a worker finishes and starts at the same moment goes in one call;
  finishing first means a failure in the batch stops the starts behind it.

  Input:
    KEYS[1..5] meta, out, run, fails, cxl
    ARGV[1] events channel
    ARGV[2] cancel channel
    ARGV[3] group id
    ARGV[4] epoch of the jobs (from their ids): a group of another epoch counts as no group
    ARGV[5] F, the number of finished attempts
    ARGV[6 .. 5 + 5F] per finished attempt: index, kind, encoded outcome, cancel reason, run token (see
                      finish-attempts)
    ARGV[6 + 5F ..] per task to start: index, run token
  Output:
    { state after the finishes ('' if none or no group), finished (1 if they brought the group to its
      final state), F finish results..., then one start result per task to start }
]]
local rcall = redis.call
--- @include "../lua-includes/now"
--- @include "../lua-includes/bulk"
--- @include "includes/stop-group"
--- @include "includes/settle-group"
--- @include "includes/finish-attempts"
--- @include "includes/start-attempts"

local now = nowMs()
local finishes = tonumber(ARGV[5])
local result = { '', 0 }
if finishes > 0 then
  local state, finished, recorded = finishAttempts(KEYS, ARGV, 6, 5 + 5 * finishes, now)
  result[1], result[2] = state, finished
  for i = 1, #recorded do
    result[#result + 1] = recorded[i]
  end
end
if #ARGV >= 6 + 5 * finishes then
  local started = startAttempts(KEYS, ARGV, 6 + 5 * finishes, now)
  for i = 1, #started do
    result[#result + 1] = started[i]
  end
end
return result
