-- Reviews: after a completed stay the guest reviews the stay (about 'stay')
-- and the host reviews the guest (about 'guest'), once each; the host may
-- answer a guest's review once. Published at once, never edited.
CREATE TABLE reviews (
    id               uuid PRIMARY KEY,
    booking_id       uuid NOT NULL REFERENCES bookings (id),
    property_id      uuid NOT NULL REFERENCES properties (id),
    author_id        uuid NOT NULL REFERENCES users (id),
    subject_id       uuid NOT NULL REFERENCES users (id),   -- the host (stay) or the guest (guest)
    about            text NOT NULL CHECK (about IN ('stay', 'guest')),
    rating           integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment          text NOT NULL,
    created_at       timestamptz NOT NULL,
    response_comment text,
    response_at      timestamptz,
    -- One review per side per booking, also under concurrent submits.
    CONSTRAINT reviews_one_per_side UNIQUE (booking_id, about)
);
-- GET /properties/{id}/reviews: guests' reviews, newest first (keyset on id).
CREATE INDEX reviews_property_idx ON reviews (property_id, id DESC) WHERE about = 'stay';
-- GET /users/{id}/reviews: what hosts wrote about a guest, newest first.
CREATE INDEX reviews_guest_idx ON reviews (subject_id, id DESC) WHERE about = 'guest';
