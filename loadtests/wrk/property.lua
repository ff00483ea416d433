-- GET /api/v1/properties/{id}, counting answers as graphql_property.lua
-- does, so the REST and GraphQL reads cost wrk the same per response and
-- their rates compare. Needs PROPERTY (see the fixture binary).
local property = os.getenv("PROPERTY")
wrk.path = "/api/v1/properties/" .. property

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok, errors = 0, 0 end
function response(status, headers, body)
  if status == 200 and string.find(body, property, 1, true) then
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
