--[[
  Hands permits to waiters, strictly in arrival order: the head of the queue is served first, and if it
  does not fit, nobody behind it is (a large request is never starved by small ones). A waiter whose
  entry ran out (its process died while waiting) is dropped when it reaches the head; a granted waiter's
  lease ends when its entry would have. Each grant takes
  the next fencing token; the granted waiters hear it on the wake channel: "<id>=<token> ...".
  Grants that waited are summed in meta (waits, waitMs, waitMax) for the dashboard.

  Expects KEYS: meta, holders, info, waiters. Returns the permits in use afterwards.
]]
local function grant(k, now, used, limit, wakeChannel)
  local granted = {}
  while used < limit do
    local head = rcall('ZRANGE', k[4], 0, 0)[1]
    if not head then
      break
    end
    local entry = rcall('HGET', k[3], head)
    local permits, leaseMs, since, expiresAt, owner
    if entry then
      permits, leaseMs, since, expiresAt, owner = string.match(entry, '^w (%d+) (%d+) (%d+) (%d+) (.*)$')
    end
    if not permits or tonumber(expiresAt) <= now then
      rcall('ZREM', k[4], head)
      if entry and permits then
        rcall('HDEL', k[3], head)
      end
    else
      permits = tonumber(permits)
      if used + permits > limit then
        break
      end
      local token = rcall('HINCRBY', k[1], 'seq', 1)
      -- How long grants waited, for the dashboard's summary: a count, a sum and a maximum, in meta.
      local waited = now - tonumber(since)
      rcall('HINCRBY', k[1], 'waits', 1)
      rcall('HINCRBY', k[1], 'waitMs', waited)
      if waited > tonumber(rcall('HGET', k[1], 'waitMax') or '0') then
        rcall('HSET', k[1], 'waitMax', waited)
      end
      rcall('ZREM', k[4], head)
      -- The lease runs from the waiter's last renewal, not from now: a process that died while it
      -- waited gets no fresh lease, so its permits are back within leaseMs of its last sign of life.
      rcall('ZADD', k[2], math.min(tonumber(expiresAt), now + tonumber(leaseMs)), head)
      rcall('HSET', k[3], head, holderEntry(permits, token, now, leaseMs, owner))
      used = used + permits
      granted[#granted + 1] = head .. '=' .. token
    end
  end
  if #granted > 0 then
    rcall('PUBLISH', wakeChannel, table.concat(granted, ' '))
  end
  return used
end
