-- Bookings, idempotency keys and the dev gateway intents (SQLite types as in 0001).

CREATE TABLE bookings (
    id                    BLOB PRIMARY KEY NOT NULL,      -- same id as its calendar_entries row
    property_id           BLOB NOT NULL REFERENCES properties (id),
    guest_id              BLOB NOT NULL REFERENCES users (id),
    host_id               BLOB NOT NULL REFERENCES users (id),
    check_in              TEXT NOT NULL,
    check_out             TEXT NOT NULL,
    guests                INTEGER NOT NULL CHECK (guests >= 1),
    status                TEXT NOT NULL CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed',
                              'completed', 'expired', 'cancelled', 'declined', 'payment_failed')),
    nights                INTEGER NOT NULL CHECK (nights >= 1),
    subtotal              INTEGER NOT NULL,
    cleaning_fee          INTEGER NOT NULL,
    service_fee           INTEGER NOT NULL,
    total                 INTEGER NOT NULL CHECK (total = subtotal + cleaning_fee + service_fee),
    host_payout           INTEGER NOT NULL,
    currency              TEXT NOT NULL,
    instant_book          BOOLEAN NOT NULL,
    cancellation_policy   TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    expires_at            TEXT,
    payment_provider      TEXT NOT NULL,
    payment_intent_id     TEXT,
    payment_client_secret TEXT,
    payment_status        TEXT NOT NULL,
    refund_amount         INTEGER,
    CHECK (check_in < check_out)
);
-- GET /bookings?as=guest (newest first, keyset on id).
CREATE INDEX bookings_guest_idx ON bookings (guest_id, id DESC);
-- GET /bookings?as=host.
CREATE INDEX bookings_host_idx ON bookings (host_id, id DESC);
-- Webhooks and dev payment endpoints find the booking by its intent.
CREATE UNIQUE INDEX bookings_payment_intent_key ON bookings (payment_intent_id);
-- The hold-expiry sweep: unpaid holds by expiry time.
CREATE INDEX bookings_expiring_idx ON bookings (expires_at) WHERE status = 'pending_payment';
-- The completion sweep: confirmed stays by check-out.
CREATE INDEX bookings_confirmed_checkout_idx ON bookings (check_out) WHERE status = 'confirmed';

-- Idempotency-Key: the first response to (user, key) is kept and replayed.
CREATE TABLE idempotency_keys (
    user_id       BLOB NOT NULL,
    key           TEXT NOT NULL,
    request_hash  BLOB NOT NULL,                -- SHA-256 of method, path and body
    status_code   INTEGER,                       -- NULL while the first request is in progress
    response_body BLOB,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- The dev gateway's record of payment intents (never real money).
CREATE TABLE dev_payment_intents (
    id              TEXT PRIMARY KEY NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,        -- a retried create returns the same intent
    booking_id      BLOB NOT NULL,
    amount          INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    capture_method  TEXT NOT NULL,               -- automatic | manual
    status          TEXT NOT NULL,
    amount_refunded INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
