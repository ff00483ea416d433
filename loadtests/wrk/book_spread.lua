-- POST /bookings for random stays (1-3 nights within the next 360 days)
-- over many properties, by many guests: the write path. Most are
-- accepted and written; a stay that overlaps an earlier one is a 409
-- decided from the calendar's memory. Needs TOKENS and PROPERTIES, comma
-- separated (the fixture binary with --guests and --properties).
--
-- Light on the load generator, which shares the machine's cores with the
-- server: each guest's request head and the dates are formatted once, so
-- a request is three random numbers and one concatenation, and there is
-- no Lua response callback (wrk would build a table of every answer's
-- headers for it). The answers are counted by status from the server's
-- /metrics instead (loadtests/lib.sh `answers`), and wrk's own
-- "Non-2xx or 3xx responses" line checks them.
local function split(s)
  local out = {}
  for item in string.gmatch(s or "", "[^,]+") do table.insert(out, item) end
  return out
end
local tokens = split(os.getenv("TOKENS"))
local properties = split(os.getenv("PROPERTIES"))
local thread_id = 0
function setup(thread)
  thread_id = thread_id + 1
  thread:set("seed", thread_id)
end
local heads, dates = {}, {}
local counter = 0
local function body(property, check_in, check_out)
  return '{"property_id":"' .. property .. '","check_in":"' .. check_in
    .. '","check_out":"' .. check_out .. '","guests":1}'
end
function init(args)
  math.randomseed(os.time() * 100 + (seed or 0))
  local today = os.time()
  for d = 1, 363 do dates[d] = os.date("!%Y-%m-%d", today + d * 86400) end
  -- Every body has the same length (UUIDs, YYYY-MM-DD dates), so each
  -- guest's head, Content-Length included, is formatted once.
  local sample = body(properties[1], dates[1], dates[2])
  for i, token in ipairs(tokens) do
    local head = wrk.format("POST", "/api/v1/bookings", {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, sample)
    heads[i] = string.sub(head, 1, #head - #sample)
  end
end
function request()
  counter = counter + 1
  local start = math.random(1, 360)
  return heads[(counter % #heads) + 1]
    .. body(properties[math.random(#properties)], dates[start], dates[start + math.random(1, 3)])
end
