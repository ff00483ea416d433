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

response = dofile("loadtests/wrk/statuses.lua")
