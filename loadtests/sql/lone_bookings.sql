-- pgbench script for pg_ceiling.sh: one shared commit of :batch lone
-- bookings, the statement PgStore::insert_lone sends (LONE_STATEMENT in
-- src/store/postgres.rs) with the values made here instead of bound as
-- arrays: calendar entries under the exclusion constraint, then the
-- bookings and dev payment intents whose entries went in.
WITH v AS (
  SELECT ceiling_uuid7() AS id, md5('property' || (n % 1000))::uuid AS property_id,
         md5('user' || (1 + n % 200))::uuid AS guest_id, md5('user0')::uuid AS host_id,
         current_date + (n / 1000)::int * 3 AS check_in,
         current_date + (n / 1000)::int * 3 + 1 + (n % 2)::int AS check_out, now() AS decided_at
  FROM (SELECT nextval('ceiling_slot') AS n FROM generate_series(1, :batch::int)) s
), e AS (
  INSERT INTO calendar_entries (id, property_id, start_date, end_date, kind, active, reason, created_at)
  SELECT id, property_id, check_in, check_out, 'booking', TRUE, NULL, decided_at FROM v
  ON CONFLICT DO NOTHING RETURNING id
), b AS (
  INSERT INTO bookings (id, property_id, guest_id, host_id, check_in, check_out, guests, status, nights,
    subtotal, cleaning_fee, service_fee, total, host_payout, currency, instant_book, cancellation_policy,
    created_at, updated_at, expires_at, payment_provider, payment_intent_id, payment_client_secret,
    payment_status, refund_amount)
  SELECT id, property_id, guest_id, host_id, check_in, check_out, 1, 'pending_payment', check_out - check_in,
    20000, 0, 2000, 22000, 18000, 'EUR', true, 'flexible', decided_at, decided_at,
    decided_at + interval '15 minutes', 'dev', 'pi_dev_' || replace(id::text, '-', ''),
    'pi_dev_' || replace(id::text, '-', '') || '_secret_0123456789abcdef', 'requires_payment', NULL
  FROM v JOIN e USING (id)
), i AS (
  INSERT INTO dev_payment_intents (id, idempotency_key, booking_id, amount, currency, capture_method, status,
    amount_refunded, created_at)
  SELECT 'pi_dev_' || replace(id::text, '-', ''), 'booking-' || id || '-create', id, 22000, 'EUR',
    'automatic', 'requires_payment', 0, decided_at
  FROM v WHERE id IN (SELECT id FROM e)
  ON CONFLICT DO NOTHING
) SELECT count(*) FROM e;
