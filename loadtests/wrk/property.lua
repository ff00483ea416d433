-- GET /api/v1/properties/{id}, counting answers as graphql_property.lua
-- does, so the REST and GraphQL reads cost wrk the same per response and
-- their rates compare. Needs PROPERTY (see the fixture binary).
local property = os.getenv("PROPERTY")
wrk.path = "/api/v1/properties/" .. property

response = dofile("loadtests/wrk/counted.lua")(function(status, body)
  return status == 200 and string.find(body, property, 1, true) ~= nil
end)
