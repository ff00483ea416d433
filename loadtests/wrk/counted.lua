-- Counts a wrk run's answers as data or errors, per thread, and prints the
-- totals at the end ("data: N  errors: M"). A script sets
--   response = dofile("loadtests/wrk/counted.lua")(good)
-- where good(status, body) says whether an answer is data. Scripts are run
-- from the repository's root (as loadtests/measure.sh does).
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok, errors = 0, 0 end
function done(summary, latency, requests)
  local o, e = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); e = e + t:get("errors") end
  io.write(string.format("data: %d  errors: %d\n", o, e))
end
return function(good)
  return function(status, headers, body)
    if good(status, body) then ok = ok + 1 else errors = errors + 1 end
  end
end
