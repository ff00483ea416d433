-- GET /api/v1/properties in one of five shapes (SHAPE), with parameters
-- drawn at random per request so caches and plans see a spread, as a
-- catalogue's visitors would. Cities and the bounding boxes are the seed's
-- (src/seed.rs).
--   city            ?city=C
--   city_dates      ?city=C&check_in&check_out
--   bbox_dates      ?bbox=…&check_in&check_out&guests=N&sort=price_asc
--   amenities_price ?amenities=a,b&min_price&max_price
--   rating          ?sort=rating (first pages of the whole catalogue)
local shape = os.getenv("SHAPE") or "city"
local cities = {
  {"Lisbon", 38.72, -9.14}, {"Paris", 48.86, 2.35}, {"Berlin", 52.52, 13.40},
  {"Barcelona", 41.39, 2.17}, {"Rome", 41.90, 12.50}, {"London", 51.51, -0.13},
  {"New York", 40.71, -74.01}, {"Tokyo", 35.68, 139.69}, {"Sydney", -33.87, 151.21},
  {"Mexico City", 19.43, -99.13}, {"Cape Town", -33.92, 18.42}, {"Prague", 50.08, 14.44},
}
local amenities = {"wifi", "kitchen", "washer", "air_conditioning", "workspace", "parking", "balcony", "pool"}
local day = 86400

local function esc(s) return (s:gsub(" ", "%%20")) end

local function dates()
  local start = os.time() + math.random(2, 300) * day
  local nights = math.random(2, 6)
  return os.date("!%Y-%m-%d", start), os.date("!%Y-%m-%d", start + nights * day)
end

request = function()
  local c = cities[math.random(#cities)]
  local q
  if shape == "city" then
    q = "city=" .. esc(c[1])
  elseif shape == "city_dates" then
    local i, o = dates()
    q = string.format("city=%s&check_in=%s&check_out=%s", esc(c[1]), i, o)
  elseif shape == "bbox_dates" then
    local i, o = dates()
    local r = 0.03
    q = string.format("bbox=%.3f,%.3f,%.3f,%.3f&check_in=%s&check_out=%s&guests=%d&sort=price_asc",
      c[3] - r, c[2] - r, c[3] + r, c[2] + r, i, o, math.random(1, 4))
  elseif shape == "amenities_price" then
    local a = amenities[math.random(#amenities)]
    local b = amenities[math.random(#amenities)]
    local low = math.random(40, 200) * 100
    q = string.format("amenities=%s,%s&min_price=%d&max_price=%d", a, b, low, low + 10000)
  elseif shape == "rating" then
    q = "sort=rating"
  else
    error("unknown SHAPE " .. shape)
  end
  return wrk.format("GET", "/api/v1/properties?" .. q .. "&limit=20")
end

-- wrk prints "Non-2xx or 3xx responses" when any answer was not a 200.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("seed", threads)
end
init = function()
  math.randomseed(os.time() * 100 + (seed or 0))
end
