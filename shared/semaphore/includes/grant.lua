--[[
  Hands permits to waiters, strictly in arrival order: the head of the queue is served first, and if it
  does not fit, nobody behind it is (a large request is never starved by small ones). A waiter whose
  entry ran out (its process died while waiting) is dropped when it reaches the head; a granted waiter's
  lease ends when its entry would have. Each grant takes the next fencing token; the granted waiters
  hear it on their process's wake channel, `<wake>:<owner>`: "<id>=<token> ..." (a process hears only
  of its own waiters, however many processes wait). Grants that waited are summed in meta (waits, waitMs,
  waitMax) for the dashboard. A head that asks for more permits than the limit (set-limit refuses those
  when it lowers the limit; this is the backstop) leaves the queue and hears "<id>=0" (no token is 0).

  The calling instance is sent no message for its own waiters: their grants are returned instead, for
  the script's reply, which it reads anyway (one pub/sub message and one wakeup fewer). `caller`
  (optional) is that instance's id prefix, not its owner: other instances may share the owner (two in
  one process, or processes given one `owner` name), and they hear only what is published.

  Reads the heads a few at a time and writes all grants with one command per key (lua-includes/bulk).
  Expects KEYS: meta, holders, info, waiters. Returns the permits in use afterwards, and the caller's
  grants ("<id>=<token>", as in a message).
]]
local function grant(k, now, used, limit, wakeChannel, caller)
  local leaving, deadEntries, holderScores, holderEntries = {}, {}, {}, {}
  -- Messages by owner, owners in the order first told (iterating a table's keys has no order).
  local owners, told, mine = {}, {}, {}
  local function tell(owner, head, message)
    if caller and string.sub(head, 1, #caller) == caller then
      mine[#mine + 1] = message
      return
    end
    if not told[owner] then
      owners[#owners + 1] = owner
      told[owner] = {}
    end
    told[owner][#told[owner] + 1] = message
  end
  local stats, seq, waits, waitMs, waitMax, nowText
  local offset = 0
  local blocked = false
  while not blocked and used < limit do
    -- Each waiter wants at least one permit: no more than limit - used of them can be served.
    local heads = rcall('ZRANGE', k[4], offset, offset + math.min(limit - used, 100) - 1)
    if #heads == 0 then
      break
    end
    offset = offset + #heads
    local entries = rcall('HMGET', k[3], unpack(heads))
    for j = 1, #heads do
      local head, entry = heads[j], entries[j]
      -- Kept as text where they only go back into an entry (lua-includes/numbers).
      local permitsText, leaseText, since, expiresAt, owner, permits
      if entry then
        permitsText, leaseText, since, expiresAt, owner = string.match(entry, '^w (%d+) (%d+) (%d+) (%d+) (.*)$')
      end
      if permitsText then
        permits, expiresAt = number(permitsText), number(expiresAt)
      end
      if not permits or expiresAt <= now then
        leaving[#leaving + 1] = head
        if entry and permits then
          deadEntries[#deadEntries + 1] = head
        end
      elseif permits > limit then
        leaving[#leaving + 1] = head
        deadEntries[#deadEntries + 1] = head
        tell(owner, head, head .. '=0')
      elseif used + permits > limit then
        blocked = true
        break
      else
        if not stats then
          stats = rcall('HMGET', k[1], 'seq', 'waits', 'waitMs', 'waitMax')
          seq, waits = tonumber(stats[1] or '0'), tonumber(stats[2] or '0')
          waitMs, waitMax = tonumber(stats[3] or '0'), tonumber(stats[4] or '0')
          nowText = int(now)
        end
        seq = seq + 1
        -- How long grants waited, for the dashboard's summary: a count, a sum and a maximum, in meta.
        local waited = now - number(since)
        waits, waitMs, waitMax = waits + 1, waitMs + waited, math.max(waitMax, waited)
        leaving[#leaving + 1] = head
        -- The lease runs from the waiter's last renewal, not from now: a process that died while it
        -- waited gets no fresh lease, so its permits are back within leaseMs of its last sign of life.
        holderScores[#holderScores + 1] = int(math.min(expiresAt, now + number(leaseText)))
        holderScores[#holderScores + 1] = head
        local token = int(seq)
        holderEntries[#holderEntries + 1] = head
        holderEntries[#holderEntries + 1] = holderEntry(permitsText, token, nowText, leaseText, owner)
        used = used + permits
        tell(owner, head, head .. '=' .. token)
      end
    end
  end
  bulk('ZREM', k[4], leaving)
  bulk('HDEL', k[3], deadEntries)
  if stats then
    bulk('ZADD', k[2], holderScores)
    bulk('HSET', k[3], holderEntries)
    rcall('HSET', k[1], 'seq', int(seq), 'waits', int(waits), 'waitMs', int(waitMs), 'waitMax', int(waitMax))
  end
  for _, owner in ipairs(owners) do
    rcall('PUBLISH', wakeChannel .. ':' .. owner, table.concat(told[owner], ' '))
  end
  return used, mine
end
