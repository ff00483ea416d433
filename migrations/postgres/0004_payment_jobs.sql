-- The payments outbox: every call to the payment gateway that follows a
-- decision (refund, release of an authorisation, host payout) is recorded
-- here in the same transaction as the decision, then carried out by the
-- PaymentsActor and retried with backoff until it succeeds or fails for
-- good. A crash between "we decided" and "the gateway did it" is resumed,
-- and the idempotency key (the job's key) keeps a retry from repeating it.
CREATE TABLE payment_jobs (
    id          uuid PRIMARY KEY,
    key         text NOT NULL UNIQUE,             -- booking:<id>:capture|refund|cancel_intent|payout: one job per decision
    kind        text NOT NULL CHECK (kind IN ('capture', 'refund', 'cancel_intent', 'payout')),
    booking_id  uuid NOT NULL REFERENCES bookings (id),
    amount      bigint NOT NULL CHECK (amount >= 0),
    attempts    integer NOT NULL DEFAULT 0,
    run_at      timestamptz NOT NULL,             -- next attempt (after backoff)
    leased_until timestamptz,                     -- an attempt is running (or died) until then
    done_at     timestamptz,
    outcome     text,                             -- the gateway's id, or why it failed for good
    last_error  text,
    created_at  timestamptz NOT NULL
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

-- The dev gateway's refunds, by idempotency key, as Stripe keeps them.
CREATE TABLE dev_refunds (
    key         text PRIMARY KEY,
    id          text NOT NULL,
    intent_id   text NOT NULL REFERENCES dev_payment_intents (id),
    amount      bigint NOT NULL,
    created_at  timestamptz NOT NULL
);
