#!/usr/bin/env bash
# The database's own ceiling for the write path (issue 12): pgbench sends
# the statement of a shared commit of lone bookings (LONE_STATEMENT in
# src/store/postgres.rs, as sql/lone_bookings.sql) straight to PostgreSQL,
# with no innkeep in between, on the real schema (the migrations as they
# are: every index, constraint and foreign key), beside pgbench's one-row
# INSERT. What the database alone commits, to read spread.sh's
# bookings/s against: how far the server is from it, and how far the
# statement itself is from one-row INSERTs.
#
#   bash loadtests/pg_ceiling.sh
#
# Needs pgbench (PostgreSQL's client tools). DURATION (default 10 s) per
# run; BATCHES (bookings per statement, default "13 32 128"; spread.sh's
# runs commit about 13) and CLIENTS (statements in flight, default "2 4";
# the server runs 2 committers).
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=postgres
DURATION=${DURATION:-10}
BATCHES=${BATCHES:-13 32 128}
CLIENTS=${CLIENTS:-2 4}
OUT=${OUT:-/tmp/innkeep-ceiling}
. loadtests/lib.sh

TEMPLATE=innkeep_ceiling_template
RUN=innkeep_ceiling
fresh_db "$TEMPLATE"
for migration in migrations/postgres/*.sql; do
  psql "$DB" -v ON_ERROR_STOP=1 -q -f "$migration" >/dev/null
done
psql "$DB" -v ON_ERROR_STOP=1 -q -f loadtests/sql/ceiling_fixture.sql >/dev/null
# Every run starts from the same empty calendars: a copy of the template.
fresh_copy() {
  pg_recreate "$RUN" "$TEMPLATE"
  DB=$PG/$RUN
}
trap '{ pg_drop "$RUN"; pg_drop "$TEMPLATE"; } 2>/dev/null || true' EXIT

fresh_copy
# One-row INSERTs before and after: this machine's disk and CPU vary from
# minute to minute, so the ceiling is read against both.
echo "pgbench one-row INSERT, 64 clients: $(pgbench_inserts "$OUT/pgbench.log")"
for batch in $BATCHES; do
  for clients in $CLIENTS; do
    fresh_copy
    log=$OUT/lone-$batch-$clients.log
    pgbench -n -M prepared -c "$clients" -j "$(( clients < 2 ? 1 : 2 ))" -T "$DURATION" -D batch="$batch" \
      -f loadtests/sql/lone_bookings.sql "$DB" >"$log" 2>&1
    stored=$(psql "$DB" -Atc "SELECT count(*) FROM bookings")
    echo "$batch bookings a statement, $clients in flight: $(( stored / DURATION )) bookings/s" \
      "($(grep -E '^tps' "$log" | awk '{ printf "%d", $3 }') statements/s)"
  done
done
fresh_copy
echo "pgbench one-row INSERT again, 64 clients: $(pgbench_inserts "$OUT/pgbench-after.log")"
