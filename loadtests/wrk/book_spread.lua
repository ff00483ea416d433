-- POST /bookings for random stays (1-3 nights within the next 360 days)
-- over many properties, by many guests: the write path. Most are
-- accepted and written; a stay that overlaps an earlier one is a 409
-- decided from the calendar's memory. Needs TOKENS and PROPERTIES, comma
-- separated (the fixture binary with --guests and --properties).
local function split(s)
  local out = {}
  for item in string.gmatch(s or "", "[^,]+") do table.insert(out, item) end
  return out
end
local tokens = split(os.getenv("TOKENS"))
local properties = split(os.getenv("PROPERTIES"))
local counter = 0
local thread_id = 0
local count = dofile("loadtests/wrk/statuses.lua")
local count_setup, count_init = setup, init
function setup(thread)
  count_setup(thread)
  thread_id = thread_id + 1
  thread:set("seed", thread_id)
end
function init(args)
  count_init(args)
  math.randomseed(os.time() * 100 + (seed or 0))
end
local today = os.time()
function request()
  counter = counter + 1
  local nights = math.random(1, 3)
  local start = today + math.random(1, 360) * 86400
  local body = string.format(
    '{"property_id":"%s","check_in":"%s","check_out":"%s","guests":1}',
    properties[math.random(#properties)],
    os.date("!%Y-%m-%d", start), os.date("!%Y-%m-%d", start + nights * 86400))
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1],
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/api/v1/bookings", headers, body)
end
response = count
