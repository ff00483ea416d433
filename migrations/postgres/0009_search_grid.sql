-- bbox + dates by price at p99 ≤ 50 ms: a box's listings in price order.
-- The GiST index finds a box's listings but in no order, so a search sorted
-- them all (500-1,000 for a city-centre box) to serve twenty. Each listing
-- also gets its grid cell (a tenth of a degree square; the arithmetic is
-- `properties::geo_cell`), and this index keeps every cell's listings in
-- price order with the columns the search filters on: a box of a few cells
-- is read as one price-ordered stream per cell, merged, probed and stopped
-- when the page is full.
ALTER TABLE properties ADD COLUMN geo_cell integer GENERATED ALWAYS AS (
    floor((latitude + 90) * 10)::integer * 3601 + floor((longitude + 180) * 10)::integer
) STORED;

CREATE INDEX properties_cell_price_idx ON properties (geo_cell, price_per_night, id)
    INCLUDE (longitude, latitude, max_guests, min_nights, max_nights)
    WHERE listed AND geo_cell IS NOT NULL;
