-- Search at scale: the indexes SQLite can use for GET /properties (see the
-- PostgreSQL migration; SQLite has no GiST or GIN, so amenities are
-- checked per candidate and a bbox narrows by longitude first).

CREATE INDEX properties_location_idx ON properties (longitude, latitude) WHERE listed;

CREATE INDEX properties_rating_idx ON properties (
    (CASE WHEN review_count = 0 THEN 0 ELSE (rating_sum * 100) / review_count END) DESC, id DESC
) WHERE listed;

CREATE INDEX properties_city_price_idx ON properties (lower(city), price_per_night, id) WHERE listed;

CREATE INDEX calendar_entries_ahead_idx ON calendar_entries (property_id, end_date, start_date)
    WHERE active;
DROP INDEX calendar_entries_property_idx;
