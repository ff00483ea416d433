-- innkeep foundation on SQLite: the same tables as migrations/postgres.
-- uuid -> BLOB (16 bytes, byte order = UUIDv7 time order), timestamps ->
-- TEXT (RFC 3339), dates -> TEXT (YYYY-MM-DD, sorts as dates), json -> TEXT.
-- SQLite has no exclusion constraints: the store checks for overlap inside
-- the same IMMEDIATE write transaction, and a single writer connection
-- serialises writes in the process.

CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    bio           TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
-- POST /auth/login by e-mail; POST /auth/register relies on it for 409.
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE refresh_tokens (
    token_hash  BLOB PRIMARY KEY NOT NULL,        -- POST /auth/refresh
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
);
-- POST /auth/logout and reuse detection revoke a whole family.
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE properties (
    id                  BLOB PRIMARY KEY NOT NULL,
    host_id             BLOB NOT NULL REFERENCES users (id),
    title               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    city                TEXT NOT NULL,
    country             TEXT NOT NULL,
    latitude            REAL,
    longitude           REAL,
    price_per_night     INTEGER NOT NULL CHECK (price_per_night > 0),
    currency            TEXT NOT NULL CHECK (length(currency) = 3),
    cleaning_fee        INTEGER NOT NULL DEFAULT 0 CHECK (cleaning_fee >= 0),
    max_guests          INTEGER NOT NULL CHECK (max_guests >= 1),
    bedrooms            INTEGER NOT NULL DEFAULT 0 CHECK (bedrooms >= 0),
    amenities           TEXT NOT NULL DEFAULT '[]',
    cancellation_policy TEXT NOT NULL CHECK (cancellation_policy IN ('flexible', 'moderate', 'strict')),
    instant_book        BOOLEAN NOT NULL DEFAULT 0,
    min_nights          INTEGER NOT NULL DEFAULT 1 CHECK (min_nights >= 1),
    max_nights          INTEGER NOT NULL DEFAULT 365 CHECK (max_nights >= min_nights),
    listed              BOOLEAN NOT NULL DEFAULT 1,
    rating_sum          INTEGER NOT NULL DEFAULT 0,
    review_count        INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
-- GET /properties, newest first (keyset on id).
CREATE INDEX properties_listed_id_idx ON properties (id DESC) WHERE listed;
-- GET /properties?city=… (case-insensitive).
CREATE INDEX properties_city_idx ON properties (lower(city), id DESC) WHERE listed;
-- GET /properties?country=…
CREATE INDEX properties_country_idx ON properties (lower(country), id DESC) WHERE listed;
-- GET /properties?min_price/max_price, sort by price.
CREATE INDEX properties_price_idx ON properties (price_per_night, id) WHERE listed;
-- A host's own properties.
CREATE INDEX properties_host_idx ON properties (host_id);

-- Host blocks now, bookings and holds in the booking engine (see postgres).
CREATE TABLE calendar_entries (
    id          BLOB PRIMARY KEY NOT NULL,
    property_id BLOB NOT NULL REFERENCES properties (id),
    start_date  TEXT NOT NULL,
    end_date    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('block', 'booking')),
    active      BOOLEAN NOT NULL DEFAULT 1,
    reason      TEXT,
    created_at  TEXT NOT NULL,
    CHECK (start_date < end_date)
);
-- Availability reads and the overlap check inside the write transaction.
CREATE INDEX calendar_entries_property_idx ON calendar_entries (property_id, start_date) WHERE active;
