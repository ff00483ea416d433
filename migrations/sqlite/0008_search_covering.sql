-- bbox + dates: the location index also carries the columns the inner search
-- query filters and sorts on, so a box's candidates are read from the index
-- alone and only the page's rows from the table (see the PostgreSQL
-- migration).
CREATE INDEX properties_location_cover_idx ON properties (
    longitude, latitude, max_guests, min_nights, max_nights, price_per_night,
    rating_sum, review_count, id
) WHERE listed;
DROP INDEX properties_location_idx;
