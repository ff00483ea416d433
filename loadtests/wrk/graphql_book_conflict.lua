-- createBooking of the same nights over and over through GraphQL: after the
-- first, every answer is `DatesUnavailable`, decided from the calendar's
-- memory (the twin of book_conflict.lua). Needs TOKEN and PROPERTY.
local token = os.getenv("TOKEN")
local property = os.getenv("PROPERTY")
local check_in = os.getenv("CHECK_IN") or os.date("!%Y-%m-%d", os.time() + 20 * 86400)
local check_out = os.getenv("CHECK_OUT") or os.date("!%Y-%m-%d", os.time() + 23 * 86400)
wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
  '{"query":"mutation($i: CreateBookingInput!) { createBooking(input: $i) { __typename ... on Booking { id } ... on DatesUnavailable { message } } }","variables":{"i":{"propertyId":"%s","checkIn":"%s","checkOut":"%s","guests":2}}}',
  property, check_in, check_out)

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) booked, unavailable, other = 0, 0, 0 end
function response(status, headers, body)
  if string.find(body, '"__typename":"Booking"', 1, true) then
    booked = booked + 1
  elseif string.find(body, '"DatesUnavailable"', 1, true) then
    unavailable = unavailable + 1
  else
    other = other + 1
  end
end
function done(summary, latency, requests)
  local b, u, o = 0, 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("booked"); u = u + t:get("unavailable"); o = o + t:get("other")
  end
  io.write(string.format("Booking: %d  DatesUnavailable: %d  other: %d\n", b, u, o))
end
