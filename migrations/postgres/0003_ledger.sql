-- The double-entry ledger (append only) and the Stripe webhook events seen.

CREATE TABLE ledger_transactions (
    id          uuid PRIMARY KEY,
    key         text NOT NULL UNIQUE,            -- booking:<id>:capture|refund|refund_sent|payout: posts once
    kind        text NOT NULL CHECK (kind IN ('capture', 'refund', 'refund_sent', 'payout')),
    booking_id  uuid NOT NULL REFERENCES bookings (id),
    currency    text NOT NULL,
    created_at  timestamptz NOT NULL
);
-- ledger verify and the balance read a booking's transactions.
CREATE INDEX ledger_transactions_booking_idx ON ledger_transactions (booking_id);

CREATE TABLE ledger_entries (
    transaction_id uuid NOT NULL REFERENCES ledger_transactions (id),
    line           integer NOT NULL,
    account        text NOT NULL,                -- processor_clearing | platform_revenue | refunds | host_payable:<user id>
    amount         bigint NOT NULL CHECK (amount <> 0),   -- debit > 0, credit < 0
    PRIMARY KEY (transaction_id, line)
);
-- GET /users/me/balance sums one host's account.
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account);

-- Append only: entries and transactions are never changed or removed.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Every Stripe event id handled: a redelivery is answered 200 with no effect.
CREATE TABLE webhook_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    received_at timestamptz NOT NULL
);
