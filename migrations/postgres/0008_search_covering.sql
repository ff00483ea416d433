-- bbox + dates at p99 ≤ 50 ms: the GiST index on the listing's point also
-- carries every column the inner search query filters or sorts on, so the
-- candidates of a box come from the index alone (an index-only scan; no
-- heap page per listing), and only the page's ~20 rows are read from the
-- table. longitude and latitude ride along because an index-only scan needs
-- the plain columns under the indexed expression.
CREATE INDEX properties_location_cover_idx ON properties USING gist (point(longitude, latitude))
    INCLUDE (id, longitude, latitude, price_per_night, max_guests, min_nights, max_nights,
             rating_sum, review_count)
    WHERE listed AND longitude IS NOT NULL AND latitude IS NOT NULL;
DROP INDEX properties_location_idx;
