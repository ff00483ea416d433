-- Notifications (see the PostgreSQL migration).
CREATE TABLE notifications (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL,
    booking_id  BLOB REFERENCES bookings (id),
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    read_at     TEXT,
    -- E-mail (with SMTP_URL): claimed by a sender until email_lease_until,
    -- sent at emailed_at.
    email_lease_until TEXT,
    emailed_at  TEXT
);
CREATE UNIQUE INDEX notifications_once_idx ON notifications (user_id, kind, booking_id);
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id, id DESC) WHERE read_at IS NULL;
-- The e-mail sender's claim: notifications not sent yet.
CREATE INDEX notifications_unsent_idx ON notifications (id) WHERE emailed_at IS NULL;
