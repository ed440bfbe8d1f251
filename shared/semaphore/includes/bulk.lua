--[[
  One Redis command for many members (ZADD scores and ids, HSET fields and values, ZREM/HDEL ids)
  instead of one per member: a script's cost is mostly the commands it runs. Sent in chunks of 1,000
  arguments (an even number, so pairs stay together), because Lua's unpack has a limit.
]]
local function bulk(command, key, args)
  for i = 1, #args, 1000 do
    rcall(command, key, unpack(args, i, math.min(i + 999, #args)))
  end
end
