--[[
  One Redis command for many members (ZADD scores and ids, HSET fields and values, ZREM/HDEL ids, HMGET
  fields) instead of one per member: a script's cost is mostly the commands it runs. Sent in chunks of
  1,000 arguments (an even number, so pairs stay together), because Lua's unpack has a limit.
]]
local function bulk(command, key, args)
  for i = 1, #args, 1000 do
    rcall(command, key, unpack(args, i, math.min(i + 999, #args)))
  end
end

-- HMGET of any number of fields: the values in the fields' order (false where absent).
local function hmgetAll(key, fields)
  local values = {}
  for i = 1, #fields, 1000 do
    local chunk = rcall('HMGET', key, unpack(fields, i, math.min(i + 999, #fields)))
    for j = 1, #chunk do
      values[#values + 1] = chunk[j]
    end
  end
  return values
end
