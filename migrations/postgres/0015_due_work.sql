-- Background work found through what is due, not by reading what is stored
-- (issue 29). Each periodic question the sweep asks gets a partial index
-- that holds only the rows it is still to act on:
--   bookings.payout_due  the host is owed this booking's share and no
--                        payout job exists yet: set when the capture is
--                        posted, cleared when the payout job is enqueued
--                        (or when nothing is left to pay);
--   bookings.reminded    the guest has had the check-in reminder;
--   jobs.settled         a capture whose booking has its capture posted,
--                        or that the sweep has reconciled.
ALTER TABLE bookings ADD COLUMN payout_due boolean NOT NULL DEFAULT false;
ALTER TABLE bookings ADD COLUMN reminded boolean NOT NULL DEFAULT false;
ALTER TABLE jobs ADD COLUMN settled boolean NOT NULL DEFAULT false;

-- What the old queries found, once.
UPDATE bookings b SET payout_due = true
 WHERE b.status IN ('confirmed', 'completed', 'cancelled')
   AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.booking_id = b.id AND j.kind = 'payment.payout')
   AND (SELECT COALESCE(SUM(e.amount), 0) FROM ledger_transactions t
          JOIN ledger_entries e ON e.transaction_id = t.id
         WHERE t.booking_id = b.id AND e.account LIKE 'host_payable:%') < 0;
UPDATE bookings b SET reminded = true
 WHERE EXISTS (SELECT 1 FROM notifications n
                WHERE n.booking_id = b.id AND n.kind = 'checkin_reminder');
UPDATE jobs j SET settled = true
 WHERE j.kind = 'payment.capture'
   AND EXISTS (SELECT 1 FROM ledger_transactions t
                WHERE t.booking_id = j.booking_id AND t.kind = 'capture');

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

-- Calendar imports are synced when due, a bounded batch a minute, not all
-- of them every 15 minutes in one pass: next_sync_at is claimed (moved on)
-- as a batch is taken.
ALTER TABLE calendar_imports ADD COLUMN next_sync_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX calendar_imports_due_idx ON calendar_imports (next_sync_at);
