-- Background work found through what is due (see the PostgreSQL migration).
ALTER TABLE bookings ADD COLUMN payout_due BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE bookings ADD COLUMN reminded BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE jobs ADD COLUMN settled BOOLEAN NOT NULL DEFAULT FALSE;

UPDATE bookings SET payout_due = TRUE
 WHERE status IN ('confirmed', 'completed', 'cancelled')
   AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.booking_id = bookings.id AND j.kind = 'payment.payout')
   AND (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_transactions t
          JOIN ledger_entries e ON e.transaction_id = t.id
         WHERE t.booking_id = bookings.id AND e.account LIKE 'host_payable:%') < 0;
UPDATE bookings SET reminded = TRUE
 WHERE EXISTS (SELECT 1 FROM notifications n
                WHERE n.booking_id = bookings.id AND n.kind = 'checkin_reminder');
UPDATE jobs SET settled = TRUE
 WHERE kind = 'payment.capture'
   AND EXISTS (SELECT 1 FROM ledger_transactions t
                WHERE t.booking_id = jobs.booking_id AND t.kind = 'capture');

CREATE INDEX bookings_payout_due_idx ON bookings (check_in) WHERE payout_due;
CREATE INDEX bookings_remind_idx ON bookings (check_in) WHERE status = 'confirmed' AND NOT reminded;
CREATE INDEX jobs_capture_unsettled_idx ON jobs (finished_at)
    WHERE kind = 'payment.capture' AND status = 'done' AND NOT settled;
-- Holds whose payment intent was never recorded: under a booking load
-- thousands of holds are pending, nearly all with their intent.
CREATE INDEX bookings_unrecorded_intent_idx ON bookings (created_at)
    WHERE status = 'pending_payment' AND payment_intent_id IS NULL;
-- Retention: finished jobs that are not a booking's record of money moved
-- (a booking's payment jobs are kept), oldest first.
CREATE INDEX jobs_prunable_idx ON jobs (finished_at) WHERE status = 'done' AND booking_id IS NULL;
DROP INDEX bookings_payout_idx;
DROP INDEX jobs_captured_idx;

-- Calendar imports synced when due (see the PostgreSQL migration); the
-- default sorts before any time sqlx writes, so every import is due at once.
ALTER TABLE calendar_imports ADD COLUMN next_sync_at TEXT NOT NULL DEFAULT '1970-01-01 00:00:00+00:00';
CREATE INDEX calendar_imports_due_idx ON calendar_imports (next_sync_at);
