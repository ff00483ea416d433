-- Counts a booking run's answers by status, per thread, and prints the
-- totals at the end ("201: N  409: M  other: K"). A script sets
--   response = dofile("loadtests/wrk/statuses.lua")
-- Scripts are run from the repository's root (as loadtests/measure.sh does).
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) created, conflicts, other = 0, 0, 0 end
function done(summary, latency, requests)
  local c, k, o = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created"); k = k + t:get("conflicts"); o = o + t:get("other")
  end
  io.write(string.format("201: %d  409: %d  other: %d\n", c, k, o))
end
return function(status, headers, body)
  if status == 201 then created = created + 1
  elseif status == 409 then conflicts = conflicts + 1
  else other = other + 1 end
end
