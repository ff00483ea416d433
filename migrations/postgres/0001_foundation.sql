-- innkeep foundation: users, refresh tokens, properties and the calendar.
-- Every index below names the query it serves.

-- The exclusion constraint on calendar_entries needs `=` on uuid inside GiST.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
    id            uuid PRIMARY KEY,               -- GET /users/me, token subject
    email         text NOT NULL,                  -- normalised (trimmed, lower-case) by the Email type
    name          text NOT NULL,
    bio           text NOT NULL DEFAULT '',
    password_hash text NOT NULL,                  -- argon2id PHC string
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
-- POST /auth/login looks users up by e-mail; POST /auth/register relies on it for 409.
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,                -- SHA-256 of the token: POST /auth/refresh looks it up
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,                    -- one login = one family; rotation keeps the family
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,                      -- set when rotated; a second use is a replay
    revoked_at  timestamptz
);
-- POST /auth/logout and reuse detection revoke a whole family.
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE properties (
    id                  uuid PRIMARY KEY,         -- UUIDv7: time-ordered, so `id DESC` is newest first
    host_id             uuid NOT NULL REFERENCES users (id),
    title               text NOT NULL,
    description         text NOT NULL DEFAULT '',
    city                text NOT NULL,
    country             text NOT NULL,
    latitude            double precision,
    longitude           double precision,
    price_per_night     bigint NOT NULL CHECK (price_per_night > 0),
    currency            text NOT NULL CHECK (length(currency) = 3),
    cleaning_fee        bigint NOT NULL DEFAULT 0 CHECK (cleaning_fee >= 0),
    max_guests          integer NOT NULL CHECK (max_guests >= 1),
    bedrooms            integer NOT NULL DEFAULT 0 CHECK (bedrooms >= 0),
    amenities           jsonb NOT NULL DEFAULT '[]',
    cancellation_policy text NOT NULL CHECK (cancellation_policy IN ('flexible', 'moderate', 'strict')),
    instant_book        boolean NOT NULL DEFAULT false,
    min_nights          integer NOT NULL DEFAULT 1 CHECK (min_nights >= 1),
    max_nights          integer NOT NULL DEFAULT 365 CHECK (max_nights >= min_nights),
    listed              boolean NOT NULL DEFAULT true,
    rating_sum          bigint NOT NULL DEFAULT 0,
    review_count        bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);
-- GET /properties (no filter, newest first, keyset on id).
CREATE INDEX properties_listed_id_idx ON properties (id DESC) WHERE listed;
-- GET /properties?city=… (case-insensitive), newest first.
CREATE INDEX properties_city_idx ON properties (lower(city), id DESC) WHERE listed;
-- GET /properties?country=…
CREATE INDEX properties_country_idx ON properties (lower(country), id DESC) WHERE listed;
-- GET /properties?min_price/max_price and sort=price_asc|price_desc.
CREATE INDEX properties_price_idx ON properties (price_per_night, id) WHERE listed;
-- A host's own properties (bookings as=host, DELETE checks).
CREATE INDEX properties_host_idx ON properties (host_id);

-- Every date range that makes a property unavailable: host blocks now,
-- bookings and holds in the booking engine. One table so that one
-- constraint guards them all.
CREATE TABLE calendar_entries (
    id          uuid PRIMARY KEY,                 -- DELETE /properties/{id}/blocks/{block_id}
    property_id uuid NOT NULL REFERENCES properties (id),
    start_date  date NOT NULL,
    end_date    date NOT NULL,                    -- exclusive: [start_date, end_date)
    kind        text NOT NULL CHECK (kind IN ('block', 'booking')),
    active      boolean NOT NULL DEFAULT true,    -- false once a booking is cancelled/expired
    reason      text,
    created_at  timestamptz NOT NULL,
    CHECK (start_date < end_date),
    -- The last line of defence against double-booking: two active ranges of
    -- one property never overlap, whichever process wrote them.
    CONSTRAINT calendar_entries_no_overlap EXCLUDE USING gist (
        property_id WITH =,
        daterange(start_date, end_date, '[)') WITH &&
    ) WHERE (active)
);
-- Availability reads and the overlap pre-check: a property's active ranges by date.
CREATE INDEX calendar_entries_property_idx ON calendar_entries (property_id, start_date) WHERE active;
