-- Search at scale: each filter of GET /properties can start from an index,
-- so a search reads the candidates it needs, not the catalogue.

-- bbox: a GiST index on the listing's point; search asks
-- point(longitude, latitude) <@ box(...), the indexed expression.
CREATE INDEX properties_location_idx ON properties USING gist (point(longitude, latitude))
    WHERE listed AND longitude IS NOT NULL AND latitude IS NOT NULL;

-- amenities: `amenities ? 'wifi'` (jsonb_ops answers `?`).
CREATE INDEX properties_amenities_idx ON properties USING gin (amenities) WHERE listed;

-- sort=rating: the average × 100 in whole numbers (RATING_KEY), then id,
-- so keyset pages walk the index.
CREATE INDEX properties_rating_idx ON properties (
    (CASE WHEN review_count = 0 THEN 0 ELSE (rating_sum * 100) / review_count END) DESC, id DESC
) WHERE listed;

-- city (or country) with a price sort: the city's listings in price order.
CREATE INDEX properties_city_price_idx ON properties (lower(city), price_per_night, id) WHERE listed;

-- Dates: "no active range of this property ends after check-in and starts
-- before check-out". Keyed by end date, a probe skips the property's past
-- (completed stays stay active) and reads only ranges still to come; the
-- start date rides along for the second test. Also serves the calendar
-- load and the booking insert's overlap check.
CREATE INDEX calendar_entries_ahead_idx ON calendar_entries (property_id, end_date) INCLUDE (start_date, kind)
    WHERE active;
DROP INDEX calendar_entries_property_idx;
