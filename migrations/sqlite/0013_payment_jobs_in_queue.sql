-- One queue: the payments outbox moves into `jobs` (see the PostgreSQL
-- migration).
ALTER TABLE jobs ADD COLUMN booking_id BLOB REFERENCES bookings (id);
ALTER TABLE jobs ADD COLUMN result TEXT;

INSERT INTO jobs (id, key, kind, payload, status, attempts, max_attempts, run_at, worker,
                  last_error, created_at, finished_at, booking_id, result)
SELECT id, key, 'payment.' || kind, json_object('amount', amount),
       CASE WHEN done_at IS NULL THEN 'queued'
            WHEN outcome = 'failed' THEN 'dead'
            ELSE 'done' END,
       attempts, MAX(50, attempts + 1), MAX(run_at, COALESCE(leased_until, run_at)), NULL,
       last_error, created_at, done_at, booking_id,
       CASE WHEN outcome = 'failed' THEN NULL ELSE outcome END
FROM payment_jobs
WHERE true
ON CONFLICT (key) DO NOTHING;

DROP TABLE payment_jobs;

CREATE INDEX jobs_booking_idx ON jobs (booking_id) WHERE booking_id IS NOT NULL;
CREATE INDEX jobs_captured_idx ON jobs (finished_at) WHERE kind = 'payment.capture' AND status = 'done';
