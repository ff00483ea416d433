-- One queue: the payments outbox becomes jobs of kind payment.capture,
-- payment.refund, payment.cancel_intent and payment.payout in `jobs`,
-- keyed as before (booking:<id>:<kind>, the gateway's idempotency key),
-- claimed and retried by the same workers. What a payment job adds:
--   booking_id  the booking whose money it moves (the sweep's "is a payout
--               recorded?" and the booking's view of its jobs);
--   result      what a finished job produced: the gateway's id for it.
-- A job that failed for good is `dead` with the reason in last_error, and
-- can be replayed (`innkeep jobs retry ID`) under the same key.
ALTER TABLE jobs ADD COLUMN booking_id uuid REFERENCES bookings (id);
ALTER TABLE jobs ADD COLUMN result text;

INSERT INTO jobs (id, key, kind, payload, status, attempts, max_attempts, run_at, worker,
                  last_error, created_at, finished_at, booking_id, result)
SELECT id, key, 'payment.' || kind, jsonb_build_object('amount', amount),
       CASE WHEN done_at IS NULL THEN 'queued'
            WHEN outcome = 'failed' THEN 'dead'
            ELSE 'done' END,
       attempts, GREATEST(50, attempts + 1), GREATEST(run_at, COALESCE(leased_until, run_at)), NULL,
       last_error, created_at, done_at, booking_id,
       CASE WHEN outcome = 'failed' THEN NULL ELSE outcome END
FROM payment_jobs
ON CONFLICT (key) DO NOTHING;

DROP TABLE payment_jobs;

-- A booking's payment jobs.
CREATE INDEX jobs_booking_idx ON jobs (booking_id) WHERE booking_id IS NOT NULL;
-- The sweep's reconciliation of captures done but not yet confirmed.
CREATE INDEX jobs_captured_idx ON jobs (finished_at) WHERE kind = 'payment.capture' AND status = 'done';
