-- The per-guest cap on unpaid holds counts a guest's pending bookings.
CREATE INDEX bookings_guest_pending_idx ON bookings (guest_id) WHERE status = 'pending_payment';

-- Retention: old idempotency keys, expired refresh tokens and old webhook
-- event ids are pruned by time.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
CREATE INDEX webhook_events_received_idx ON webhook_events (received_at);
