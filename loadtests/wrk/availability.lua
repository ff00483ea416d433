-- GET one property's availability for the next 90 days (answered from the
-- calendar actor's memory). Needs PROPERTY.
local property = os.getenv("PROPERTY")
local from = os.date("!%Y-%m-%d", os.time())
local to = os.date("!%Y-%m-%d", os.time() + 90 * 86400)
wrk.path = string.format("/api/v1/properties/%s/availability?from=%s&to=%s", property, from, to)
