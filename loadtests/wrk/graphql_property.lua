-- POST /graphql asking for one property (the GraphQL twin of
-- GET /api/v1/properties/{id}). Needs PROPERTY (see the fixture binary).
local property = os.getenv("PROPERTY")
wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
  '{"query":"query($id: ID!) { property(id: $id) { id title description city country latitude longitude pricePerNight currency cleaningFee maxGuests bedrooms amenities cancellationPolicy instantBook minNights maxNights ratingAvg reviewCount createdAt updatedAt } }","variables":{"id":"%s"}}',
  property)

response = dofile("loadtests/wrk/counted.lua")(function(status, body)
  return status == 200 and not string.find(body, '"errors"', 1, true)
end)
