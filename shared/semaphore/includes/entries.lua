--[[
  One `info` hash holds every holder's and waiter's entry, as a string:
    holder: "h <permits> <token> <since> <leaseMs> <owner>"     (its lease expiry is its score in `holders`)
    waiter: "w <permits> <leaseMs> <since> <expiresAt> <owner>" (its arrival is its score in `waiters`)

  It also holds one field that is not an entry, `~format`, written with every batch of new entries:
  a description of the entries, longer than the 64 bytes up to which Redis keeps a small hash as a
  listpack. So Redis keeps `info` as a hash table: the hot script looks entries up by id several times
  per permit, and in a listpack (used up to 128 fields) each lookup scans every field, a miss all of
  them (about a tenth of the script's instructions with 50 contenders, callgrind). Ids never start
  with "~".
]]
local formatField = '~format'
local formatText = 'entries by id: holder "h <permits> <token> <since> <leaseMs> <owner>", '
  .. 'waiter "w <permits> <leaseMs> <since> <expiresAt> <owner>"'

local function holderEntry(permits, token, since, leaseMs, owner)
  return 'h ' .. permits .. ' ' .. token .. ' ' .. since .. ' ' .. leaseMs .. ' ' .. owner
end

local function waiterEntry(permits, leaseMs, since, expiresAt, owner)
  return 'w ' .. permits .. ' ' .. leaseMs .. ' ' .. since .. ' ' .. expiresAt .. ' ' .. owner
end

-- "h" or "w", and the permits of an entry.
local function entryKind(entry)
  return string.sub(entry, 1, 1), number(string.match(entry, '^%a (%d+)'))
end
