-- bbox + dates by price: each listing's grid cell (a tenth of a degree
-- square, `properties::geo_cell`), and the cells' listings in price order
-- with the columns the search filters on (see the PostgreSQL migration).
-- The sums are never negative, so CAST is the floor.
ALTER TABLE properties ADD COLUMN geo_cell INTEGER GENERATED ALWAYS AS (
    CAST((latitude + 90) * 10 AS INTEGER) * 3601 + CAST((longitude + 180) * 10 AS INTEGER)
) VIRTUAL;

CREATE INDEX properties_cell_price_idx ON properties (
    geo_cell, price_per_night, id, longitude, latitude, max_guests, min_nights, max_nights
) WHERE listed AND geo_cell IS NOT NULL;
