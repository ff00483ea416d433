-- Bookings, idempotency keys and the dev payment gateway's intents.

CREATE TABLE bookings (
    id                    uuid PRIMARY KEY,      -- same id as its calendar_entries row
    property_id           uuid NOT NULL REFERENCES properties (id),
    guest_id              uuid NOT NULL REFERENCES users (id),
    host_id               uuid NOT NULL REFERENCES users (id),
    check_in              date NOT NULL,
    check_out             date NOT NULL,
    guests                integer NOT NULL CHECK (guests >= 1),
    status                text NOT NULL CHECK (status IN ('pending_payment', 'awaiting_host', 'confirmed',
                              'completed', 'expired', 'cancelled', 'declined', 'payment_failed')),
    nights                integer NOT NULL CHECK (nights >= 1),
    subtotal              bigint NOT NULL,
    cleaning_fee          bigint NOT NULL,
    service_fee           bigint NOT NULL,
    total                 bigint NOT NULL CHECK (total = subtotal + cleaning_fee + service_fee),
    host_payout           bigint NOT NULL,
    currency              text NOT NULL,
    instant_book          boolean NOT NULL,
    cancellation_policy   text NOT NULL,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    expires_at            timestamptz,
    payment_provider      text NOT NULL,
    payment_intent_id     text,
    payment_client_secret text,
    payment_status        text NOT NULL,
    refund_amount         bigint,
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
    user_id       uuid NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,                -- SHA-256 of method, path and body
    status_code   integer,                       -- NULL while the first request is in progress
    response_body bytea,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- The dev gateway's record of payment intents (never real money).
CREATE TABLE dev_payment_intents (
    id              text PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,        -- a retried create returns the same intent
    booking_id      uuid NOT NULL,
    amount          bigint NOT NULL,
    currency        text NOT NULL,
    capture_method  text NOT NULL,               -- automatic | manual
    status          text NOT NULL,
    amount_refunded bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL
);
