-- Notifications: what a change tells its users, written in the change's
-- own transaction (a booking confirmed, cancelled, expired …). One of each
-- kind per user and booking: a change applied twice tells once.
CREATE TABLE notifications (
    id          uuid PRIMARY KEY,                 -- v7: newest first is id order
    user_id     uuid NOT NULL REFERENCES users (id),
    kind        text NOT NULL,
    booking_id  uuid REFERENCES bookings (id),
    title       text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    read_at     timestamptz,
    -- E-mail (with SMTP_URL): claimed by a sender until email_lease_until,
    -- sent at emailed_at.
    email_lease_until timestamptz,
    emailed_at  timestamptz
);
CREATE UNIQUE INDEX notifications_once_idx ON notifications (user_id, kind, booking_id);
-- A user's list, newest first, and its unread part.
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id, id DESC) WHERE read_at IS NULL;
-- The e-mail sender's claim: notifications not sent yet.
CREATE INDEX notifications_unsent_idx ON notifications (id) WHERE emailed_at IS NULL;
