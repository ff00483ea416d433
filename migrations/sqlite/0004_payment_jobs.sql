-- The payments outbox (see migrations/postgres/0004): gateway calls that
-- follow a decision, recorded with it, carried out and retried by the
-- PaymentsActor. SQLite types as in 0001.
CREATE TABLE payment_jobs (
    id          BLOB PRIMARY KEY NOT NULL,
    key         TEXT NOT NULL UNIQUE,             -- booking:<id>:capture|refund|cancel_intent|payout
    kind        TEXT NOT NULL CHECK (kind IN ('capture', 'refund', 'cancel_intent', 'payout')),
    booking_id  BLOB NOT NULL REFERENCES bookings (id),
    amount      INTEGER NOT NULL CHECK (amount >= 0),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_at      TEXT NOT NULL,
    leased_until TEXT,
    done_at     TEXT,
    outcome     TEXT,
    last_error  TEXT,
    created_at  TEXT NOT NULL
);
-- The expiry sweep: requests to book the host has not answered in time
-- (pending holds use bookings_expiring_idx).
CREATE INDEX bookings_request_expiring_idx ON bookings (expires_at) WHERE status = 'awaiting_host';

-- The payout sweep: stays by check-in among those that may owe a host money.
CREATE INDEX bookings_payout_idx ON bookings (check_in)
    WHERE status IN ('confirmed', 'completed', 'cancelled');

-- The actor's poll: jobs not done, by due time.
CREATE INDEX payment_jobs_due_idx ON payment_jobs (run_at) WHERE done_at IS NULL;

-- The sweep's reconciliation of captures done but not yet confirmed.
CREATE INDEX payment_jobs_captured_idx ON payment_jobs (done_at) WHERE kind = 'capture';

-- The dev gateway's refunds, by idempotency key.
CREATE TABLE dev_refunds (
    key         TEXT PRIMARY KEY NOT NULL,
    id          TEXT NOT NULL,
    intent_id   TEXT NOT NULL REFERENCES dev_payment_intents (id),
    amount      INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
