--[[
  Redis server time in milliseconds. All group and lease times come from here, so workers whose
  clocks disagree still agree on deadlines and leases.
]]
local function nowMs()
  local t = rcall('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
