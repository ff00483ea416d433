#!/usr/bin/env bash
# Background work at scale (issue 29): seeds N listings into a fresh store
# with `innkeep seed`, serves them from a release build (workers on,
# INNKEEP_DEV=1 for the dev clock) and prints what the periodic work costs
# while nothing happens (server and PostgreSQL CPU, sweep pass p50/p99 from
# /metrics), search p99 idle and under wrk's random stays, then checks
# that the work still gets done: holds expire on time, payouts are
# enqueued after check-in, no periodic job is dead.
#
#   bash loadtests/scale.sh sqlite|postgres N
#
# IDLE (default 60 s), LOAD (the booking load, default 60 s; 0 skips it and
# the search under it) and SEARCH (each search run, default 10 s).
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=${1:-sqlite}
N=${2:-100000}
IDLE=${IDLE:-60}
LOAD=${LOAD:-60}
SEARCH=${SEARCH:-10}
PORT=${PORT:-18280}
OUT=${OUT:-/tmp/innkeep-scale-$STORE}
HOST=http://127.0.0.1:$PORT
. loadtests/lib.sh
fresh_db innkeep_scale
export INNKEEP_DEV=1 JWT_SECRET=load-test-secret-load-test-secret-0123456789
HZ=$(getconf CLK_TCK)

if [ "$STORE" = postgres ]; then
  sql() { psql "$DB" -qAtc "$1"; }
  hex="replace(id::text, '-', '')"
else
  sql() { sqlite3 -cmd ".timeout 5000" "$OUT/innkeep.db" "$1"; }
  hex="lower(hex(id))"
fi
uuid() { sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12})$/\1-\2-\3-\4-\5/'; }
api() { local m=$1 path=$2; shift 2; curl -sf -X "$m" -H 'Content-Type: application/json' "$@" "$HOST/api/v1$path"; }
clock() { api PUT /dev/clock -d "{\"now\":\"$1\"}" >/dev/null; }
passed=0 failed=0
check() { # check WHAT CONDITION…: PASS when the condition holds.
  local what=$1; shift
  if "$@"; then echo "PASS $what"; passed=$((passed + 1)); else echo "FAIL $what"; failed=$((failed + 1)); fi
}
metric() { curl -sf "$HOST/metrics" | grep -E "^innkeep_periodic_$1\{" || true; }
sweep() {
  metric pass_seconds | grep 'kind="bookings.sweep"' | awk '
    { q = $0; sub(/.*quantile="/, "", q); sub(/".*/, "", q); v[q] = $NF * 1000 }
    END { printf "sweep pass p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", v["0.5"], v["0.99"], v["1"] }'
  echo "periodic passes / failures: $(metric passes_total | sed -E 's/.*kind="([^"]+)".* /\1 /' | xargs) /" \
    "$(metric failures_total | sed -E 's/.*kind="([^"]+)".* /\1 /' | xargs)"
}

echo "== $STORE: seeding $N properties"
start=$(date +%s.%N)
DATABASE_URL=$DB RUST_LOG=info "$BIN/innkeep" seed --properties "$N" >"$OUT/seed.log" 2>&1
awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "seed wall time (migrations included): %.1f s\n", e - s }'
if [ "$STORE" = postgres ]; then
  bytes=$(sql "SELECT pg_database_size(current_database())")
  psql "$DB" -qc "VACUUM ANALYZE" # what autovacuum would do after the load, not during the idle minute
  # …and the checkpoint that VACUUM's WAL sets off (at 1,000,000 listings
  # it ran through the whole idle minute: 9 % of a core in postgres).
  psql "$DB" -qc "CHECKPOINT"
else
  bytes=$(cat "$OUT"/innkeep.db "$OUT"/innkeep.db-wal 2>/dev/null | wc -c)
  sql "ANALYZE;"
fi
awk -v b="$bytes" 'BEGIN { printf "database size: %.0f MiB\n", b / 1048576 }'

start_server
# Holds on a few seeded listings, by a guest of our own (seeded ones cannot sign in).
guest='{"email":"scale-guest@loadtest.innkeep.dev","password":"scale-test-password"}'
api POST /auth/register -d "${guest%\}},\"name\":\"Scale guest\"}" >/dev/null
token() { api POST /auth/login -d "$guest" | jq -r .access_token; }
ME=$(token) # not TOKEN: the fixture sets that one
in=$(date -u -d '+330 days' +%F) # after every seeded stay and block
holds=() expires=""
for row in $(sql "SELECT $hex || ',' || min_nights FROM properties WHERE listed AND instant_book LIMIT 3"); do
  out=$(date -u -d "$in + $(( ${row#*,} > 2 ? ${row#*,} : 2 )) days" +%F)
  b=$(api POST /bookings -H "Authorization: Bearer $ME" \
    -d "{\"property_id\":\"$(echo "${row%,*}" | uuid)\",\"check_in\":\"$in\",\"check_out\":\"$out\",\"guests\":1}")
  holds+=("$(jq -r .id <<<"$b")"); expires=$(jq -r .expires_at <<<"$b")
done
statuses() { for id in "${holds[@]}"; do api GET "/bookings/$id" -H "Authorization: Bearer $ME" | jq -r .status || echo failed; done | sort | uniq -c | xargs; }
echo "holds: $(statuses), the last expiring at $expires"
if [ "$LOAD" -gt 0 ]; then
  eval "$("$BIN/fixture" --host "$HOST" --guests 100 --properties 1)"
  PROPERTIES=$(sql "SELECT $hex FROM properties WHERE listed AND instant_book AND min_nights = 1 ORDER BY random() LIMIT 1000" | uuid | paste -sd,)
  export TOKENS PROPERTIES
fi
# What the seed leaves due is real work, not idleness: tomorrow's check-in
# reminders (12,912 at 1,000,000 listings, 500 a pass) took the first 26
# passes of the idle minute. Let the sweep send them before measuring.
tomorrow=$(date -u -d '+1 day' +%F)
t0=$(date +%s)
while [ "$(sql "SELECT count(*) FROM bookings WHERE status = 'confirmed' AND NOT reminded AND check_in = '$tomorrow'")" != 0 ] \
  && [ $(( $(date +%s) - t0 )) -lt 300 ]; do sleep 1; done
echo "the seed's due work (tomorrow's reminders) done after $(( $(date +%s) - t0 )) s"
# A new server, so the sweep's timings (the last 600 passes) are the idle minute's.
kill "$SERVER"; wait "$SERVER" || true
start_server

s0=$(cpu "$SERVER"); p0=$(pg_cpu)
sleep "$IDLE"
core() { awk -v t="$1" -v hz="$HZ" -v s="$IDLE" 'BEGIN { printf "%.2f %%", t / hz / s * 100 }'; }
echo "idle ${IDLE} s, CPU as % of one core: server $(core $(( $(cpu "$SERVER") - s0 )))$(
  [ "$STORE" = postgres ] && echo ", all postgres processes $(core $(( $(pg_cpu) - p0 )))")"
sweep

search() { SHAPE=city_dates wrk -t2 -c32 -d"${SEARCH}s" --latency -s loadtests/wrk/search.lua "$HOST" >"$OUT/$1.log"; }
summary() { echo "p99 $(pct "$OUT/$1.log" 99) ($(rate "$OUT/$1.log") req/s$(grep -E 'Non-2xx' "$OUT/$1.log" | sed 's/^ */, /'))"; }
search search-idle
if [ "$LOAD" -gt 0 ]; then
  wrk -t2 -c64 -d"${LOAD}s" --latency -s loadtests/wrk/book_spread.lua "$HOST" >"$OUT/book.log" 2>&1 &
  book=$! before=$(answers)
  sleep $(( (LOAD - SEARCH) / 2 ))
  search search-load
  wait "$book"
  echo "search city+dates, 32 connections: idle $(summary search-idle); under bookings $(summary search-load)"
  echo "bookings, 64 connections, ${LOAD} s: $(summary book); $(counted "$before" "$(answers)")"
else
  echo "search city+dates, 32 connections: idle $(summary search-idle)"
fi

seen=$(statuses)
echo "holds before expires_at: $seen"
check "holds still pending before expires_at" [ "$seen" = "3 pending_payment" ]
ME=$(token) # issued now, so still valid on the moved clock
clock "$(date -u -d "@$(( $(date -d "$expires" +%s) + 2 ))" +%FT%TZ)"
t0=$(date +%s%N)
while [ "$(statuses)" != "3 expired" ] && [ $(( $(date +%s%N) - t0 )) -lt 2000000000 ]; do sleep 0.1; done
echo "holds after the clock passed expires_at: $(statuses), $(( ($(date +%s%N) - t0) / 1000000 )) ms"
check "holds expired within 2 s" [ "$(statuses)" = "3 expired" ]

count_payouts() { sql "SELECT count(*) FROM jobs WHERE kind = 'payment.payout'"; }
check_in=$(sql "SELECT min(check_in) FROM bookings WHERE status = 'confirmed' AND payout_due")
before=$(count_payouts)
clock "$(date -u -d "$check_in + 2 days" +%FT%TZ)"
for _ in $(seq 1 30); do [ "$(count_payouts)" -gt "$before" ] && break; sleep 1; done
echo "payout jobs before / after the clock passed $check_in + 2 days: $before / $(count_payouts)"
check "payouts enqueued after check-in" [ "$(count_payouts)" -gt "$before" ]
sleep 5
echo "dead jobs by kind: $(sql "SELECT kind || ' ' || count(*) FROM jobs WHERE status = 'dead' GROUP BY kind" | xargs)"
check "no periodic job dead" [ "$(sql "SELECT count(*) FROM jobs WHERE status = 'dead' AND key LIKE 'every:%'")" = 0 ]
echo "after the checks:"; sweep

echo "scale: $passed passed, $failed failed"
[ "$failed" = 0 ]
