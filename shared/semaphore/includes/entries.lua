--[[
  One `info` hash holds every holder's and waiter's entry, as a string:
    holder: "h <permits> <token> <since> <leaseMs> <owner>"     (its lease expiry is its score in `holders`)
    waiter: "w <permits> <leaseMs> <since> <expiresAt> <owner>" (its arrival is its score in `waiters`)
]]
local function holderEntry(permits, token, since, leaseMs, owner)
  return 'h ' .. permits .. ' ' .. token .. ' ' .. since .. ' ' .. leaseMs .. ' ' .. owner
end

local function waiterEntry(permits, leaseMs, since, expiresAt, owner)
  return 'w ' .. permits .. ' ' .. leaseMs .. ' ' .. since .. ' ' .. expiresAt .. ' ' .. owner
end

-- "h" or "w", and the permits of an entry.
local function entryKind(entry)
  return string.sub(entry, 1, 1), tonumber(string.match(entry, '^%a (%d+)'))
end
