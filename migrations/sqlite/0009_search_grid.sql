-- bbox + dates by price: the listings of each grid cell (a tenth of a
-- degree square, `properties::geo_cell`) in price order, with every column
-- the search filters on, `listed` included, so SQLite reads a cell from the
-- index alone (a covering index; an index on a generated column is never
-- covering, an index on the expression is). Search names the cell by this
-- very expression (`SqliteStore::push_in_cell`). The sums are never
-- negative, so CAST is the floor. (See the PostgreSQL migration.)
CREATE INDEX properties_cell_price_idx ON properties (
    (CAST((latitude + 90) * 10 AS INTEGER) * 3601 + CAST((longitude + 180) * 10 AS INTEGER)),
    price_per_night, id, longitude, latitude, max_guests, min_nights, max_nights, listed
) WHERE listed AND latitude IS NOT NULL AND longitude IS NOT NULL;

-- Other boxes: the location index, `listed` included, is covering too.
DROP INDEX properties_location_cover_idx;
CREATE INDEX properties_location_cover_idx ON properties (
    longitude, latitude, max_guests, min_nights, max_nights, price_per_night,
    rating_sum, review_count, id, listed
) WHERE listed;
