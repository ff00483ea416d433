-- POST /graphql asking for one property (the GraphQL twin of
-- GET /api/v1/properties/{id}). Needs PROPERTY (see the fixture binary).
local property = os.getenv("PROPERTY")
wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
  '{"query":"query($id: ID!) { property(id: $id) { id title description city country latitude longitude pricePerNight currency cleaningFee maxGuests bedrooms amenities cancellationPolicy instantBook minNights maxNights ratingAvg reviewCount createdAt updatedAt } }","variables":{"id":"%s"}}',
  property)

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok, errors = 0, 0 end
function response(status, headers, body)
  if status == 200 and not string.find(body, '"errors"', 1, true) then
    ok = ok + 1
  else
    errors = errors + 1
  end
end
function done(summary, latency, requests)
  local o, e = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); e = e + t:get("errors") end
  io.write(string.format("data: %d  errors: %d\n", o, e))
end
