-- The double-entry ledger (append only) and the Stripe webhook events seen
-- (SQLite types as in 0001).

CREATE TABLE ledger_transactions (
    id          BLOB PRIMARY KEY NOT NULL,
    key         TEXT NOT NULL UNIQUE,            -- booking:<id>:capture|refund|refund_sent|payout: posts once
    kind        TEXT NOT NULL CHECK (kind IN ('capture', 'refund', 'refund_sent', 'payout')),
    booking_id  BLOB NOT NULL REFERENCES bookings (id),
    currency    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
-- ledger verify and the balance read a booking's transactions.
CREATE INDEX ledger_transactions_booking_idx ON ledger_transactions (booking_id);

CREATE TABLE ledger_entries (
    transaction_id BLOB NOT NULL REFERENCES ledger_transactions (id),
    line           INTEGER NOT NULL,
    account        TEXT NOT NULL,                -- processor_clearing | platform_revenue | refunds | host_payable:<user id>
    amount         INTEGER NOT NULL CHECK (amount <> 0),   -- debit > 0, credit < 0
    PRIMARY KEY (transaction_id, line)
);
-- GET /users/me/balance sums one host's account.
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account);

-- Append only: entries and transactions are never changed or removed.
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

-- Every Stripe event id handled: a redelivery is answered 200 with no effect.
CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY NOT NULL,
    type        TEXT NOT NULL,
    received_at TEXT NOT NULL
);
