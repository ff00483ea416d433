-- pg_ceiling.sh's fixture, after the migrations: one host with 1,000
-- properties and 200 guests (spread.sh's fixture, written directly), ids
-- the statement can compute, and a UUIDv7 like the server's (PostgreSQL 15
-- has none built in) so the bookings' indexes grow at the right edge as
-- theirs do.
CREATE FUNCTION ceiling_uuid7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
          || '7' || substr(md5(random()::text), 1, 19))::uuid $$;
-- Each booking takes the next slot: its property and nights follow from
-- it, so no two overlap (the calendar actors have refused overlaps before
-- a shared commit is sent).
CREATE SEQUENCE ceiling_slot;
INSERT INTO users (id, email, name, password_hash, created_at, updated_at)
SELECT md5('user' || n)::uuid, 'user' || n || '@ceiling.test', 'Ceiling', 'x', now(), now()
FROM generate_series(0, 200) n;
INSERT INTO properties (id, host_id, title, city, country, price_per_night, currency, max_guests,
                        cancellation_policy, instant_book, created_at, updated_at)
SELECT md5('property' || n)::uuid, md5('user0')::uuid, 'Ceiling', 'Lisbon', 'PT', 10000, 'EUR', 4,
       'flexible', true, now(), now()
FROM generate_series(0, 999) n;
