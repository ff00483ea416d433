#!/usr/bin/env bash
# The write path alone (issue 12), for comparing builds side by side:
# starts `innkeep serve` from BIN_DIR (a release build's directory, so an
# older build can be run against a newer one in alternation) on a fresh
# database, makes 200 guests and 1,000 properties, then runs pgbench
# one-row INSERTs (PostgreSQL) and wrk's random stays at 64 connections.
#
#   bash loadtests/spread.sh /var/tmp/innkeep-target/release sqlite|postgres
#
# DURATION (default 15 s) per run; PERF=1 records `perf` for 8 s of the wrk
# run (PERFARGS, default the server only; "-a" for the whole machine) into
# $OUT/perf.data. PRE_SQL (PostgreSQL) is run on the database after the
# fixture, before the runs: a schema change (an index or a foreign key
# dropped, say) tried without a rebuild. INNKEEP_* variables pass on to the
# server (INNKEEP_COMMITTERS=8, say). TABLES=1 (PostgreSQL) prints the rows
# written and index scans per table afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=${2:-sqlite}
DURATION=${DURATION:-15}
PORT=${PORT:-18180}
OUT=${OUT:-/tmp/innkeep-spread-$STORE}
HOST=http://127.0.0.1:$PORT
. loadtests/lib.sh
BIN=${1:?the directory of an innkeep release build}
fresh_db innkeep_spread

start_server
eval "$("$BIN/fixture" --host "$HOST" --guests 200 --properties 1000)"
export TOKENS PROPERTIES

if [ -n "${PRE_SQL:-}" ]; then
  psql "$DB" -v ON_ERROR_STOP=1 -qc "$PRE_SQL" >/dev/null
  echo "ran before the runs: $PRE_SQL"
fi
if [ "$STORE" = postgres ]; then
  echo "pgbench one-row INSERT, 64 clients: $(pgbench_inserts "$OUT/pgbench.log")"
fi
( [ -n "${PERF:-}" ] && sleep 3 && perf record -F 499 -g ${PERFARGS:--p $SERVER} -o "$OUT/perf.data" -- sleep 8 >/dev/null 2>&1 || true ) &
PERF_PID=$!
before=$(answers); server_before=$(cpu "$SERVER"); pg_before=$(pg_cpu)
# CPU seconds of the load generator beside the server's: both share the cores.
TIMEFORMAT='%U %S'
{ time wrk -t2 -c64 -d"${DURATION}s" --latency -s loadtests/wrk/book_spread.lua "$HOST" >"$OUT/wrk-spread.log" 2>&1; } 2>"$OUT/wrk-cpu"
server_ticks=$(( $(cpu "$SERVER") - server_before ))
pg_ticks=$(( $(pg_cpu) - pg_before ))
counted "$before" "$(answers)" >>"$OUT/wrk-spread.log"
wait "$PERF_PID"
created=$(grep -E "^201:" "$OUT/wrk-spread.log" | awk '{print $2}')
echo "wrk random stays, 64 connections: $(grep -E '^Requests/sec' "$OUT/wrk-spread.log" | awk '{print $2}') req/s," \
  "$((created / DURATION)) bookings/s," \
  "p50 $(grep -E '^ +50%' "$OUT/wrk-spread.log" | awk '{print $2}')," \
  "p99 $(grep -E '^ +99%' "$OUT/wrk-spread.log" | awk '{print $2}')"
grep -E "^201:" "$OUT/wrk-spread.log"
echo "wrk's answers not 2xx: $(grep -E '^ +Non-2xx' "$OUT/wrk-spread.log" | awk '{print $NF}')"
HZ=$(getconf CLK_TCK)
seconds() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }'; }
database=""
[ "$STORE" = postgres ] && database=", PostgreSQL $(seconds "$pg_ticks")"
echo "CPU seconds in the run: server $(seconds "$server_ticks")$database," \
  "wrk $(awk '{ printf "%.1f", $1 + $2 }' "$OUT/wrk-cpu") (of $(( $(nproc) * DURATION )) on $(nproc) cores)"
if [ "$STORE" = postgres ]; then
  # The database's work per booking: what the write path's statements cost
  # it, much steadier from run to run than the rate itself.
  echo "PostgreSQL CPU per booking: $(awk -v t="$pg_ticks" -v hz="$HZ" -v n="$created" \
    'BEGIN { printf "%.0f µs", n ? t / hz / n * 1e6 : 0 }')"
fi
echo "committed since start: $(commits)"
echo "server RSS: $(ps -o rss= -p "$SERVER") KiB"
if [ "$STORE" = postgres ] && [ -n "${TABLES:-}" ]; then
  # Rows written and index scans per table: what one booking costs.
  psql "$DB" -c "SELECT relname, n_tup_ins, n_tup_upd, idx_scan, seq_scan FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd > 0 ORDER BY relname"
fi
