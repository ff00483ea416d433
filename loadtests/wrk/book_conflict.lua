-- POST the same booking over and over: after the first, every answer is a
-- 409 dates-unavailable decided from the calendar actor's memory.
-- Needs TOKEN and PROPERTY (see the fixture binary); CHECK_IN optional.
local token = os.getenv("TOKEN")
local property = os.getenv("PROPERTY")
local check_in = os.getenv("CHECK_IN") or os.date("!%Y-%m-%d", os.time() + 20 * 86400)
local check_out = os.getenv("CHECK_OUT") or os.date("!%Y-%m-%d", os.time() + 23 * 86400)
wrk.method = "POST"
wrk.path = "/api/v1/bookings"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
  '{"property_id":"%s","check_in":"%s","check_out":"%s","guests":2}',
  property, check_in, check_out)

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  created, conflicts, other = 0, 0, 0
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 409 then
    conflicts = conflicts + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, k, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    k = k + t:get("conflicts")
    o = o + t:get("other")
  end
  io.write(string.format("201: %d  409: %d  other: %d\n", c, k, o))
end
