--[[
  Creates a group in state `open`.

  Input:
    KEYS[1] meta
    ARGV[1] name
    ARGV[2] policy: fail-fast | all-settled
    ARGV[3] deadline, ms from now (0 = none)
    ARGV[4] producer lease, ms
    ARGV[5] retention after the group finishes, ms
    ARGV[6] parent task, "<groupId>.<index>" or ""
    ARGV[7] epoch: part of every job id of this incarnation of the group id
    ARGV[8] maxConcurrency (0 = none)
  Output:
    creation time (Redis ms), or -1 if the id is already in use
    The same call again (ioredis resends a command whose reply a dropped connection lost) finds its
    own group, told by the epoch (random per creation), and gets the same creation time.
]]
local rcall = redis.call
--- @include "../lua-includes/now"

local metaKey = KEYS[1]
if rcall('EXISTS', metaKey) == 1 then
  local existing = rcall('HMGET', metaKey, 'epoch', 'createdAt')
  if existing[1] == ARGV[7] then
    return tonumber(existing[2])
  end
  return -1
end
local now = nowMs()
local deadline = tonumber(ARGV[3])
local deadlineAt = 0
if deadline > 0 then
  deadlineAt = now + deadline
end
rcall('HSET', metaKey,
  'state', 'open', 'closed', '0', 'name', ARGV[1], 'policy', ARGV[2],
  'createdAt', now, 'progressAt', now, 'deadlineAt', deadlineAt,
  'leaseUntil', now + tonumber(ARGV[4]), 'retention', ARGV[5], 'parent', ARGV[6], 'epoch', ARGV[7], 'maxc', ARGV[8],
  'total', 0, 'ok', 0, 'err', 0, 'cxl', 0)
return now
