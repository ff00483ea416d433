-- Reviews (see migrations/postgres/0006_reviews.sql).
CREATE TABLE reviews (
    id               BLOB PRIMARY KEY NOT NULL,
    booking_id       BLOB NOT NULL REFERENCES bookings (id),
    property_id      BLOB NOT NULL REFERENCES properties (id),
    author_id        BLOB NOT NULL REFERENCES users (id),
    subject_id       BLOB NOT NULL REFERENCES users (id),
    about            TEXT NOT NULL CHECK (about IN ('stay', 'guest')),
    rating           INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    response_comment TEXT,
    response_at      TEXT,
    UNIQUE (booking_id, about)
);
CREATE INDEX reviews_property_idx ON reviews (property_id, id DESC) WHERE about = 'stay';
CREATE INDEX reviews_guest_idx ON reviews (subject_id, id DESC) WHERE about = 'guest';
