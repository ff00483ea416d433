# Shared by the load scripts (measure.sh, search.sh); sourced, not run.
#
# fresh_run NAME: builds the release binaries (the same packages for every
# script: one feature set, one build), empties $OUT, and makes a fresh
# database for $STORE (sqlite: a file in $OUT; postgres: database NAME on
# $PG). BIN is where the binaries are; fresh_run sets DB.
# Then: `spawn CMD…` starts a process that is killed when the script
# exits; `rate FILE`, `pct FILE N` read wrk's output.

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/innkeep-target}"
BIN=$CARGO_TARGET_DIR/release
PG=${PG:-postgres://postgres@127.0.0.1:5432}

fresh_run() {
  cargo build --release --locked -p innkeep -p innkeep-loadtests >/dev/null
  fresh_db "$1"
}

# fresh_db NAME: empties $OUT and makes the fresh database alone (sets DB).
fresh_db() {
  mkdir -p "$OUT"
  rm -f "$OUT"/*.log "$OUT"/innkeep.db*
  case $STORE in
    sqlite) DB="sqlite://$OUT/innkeep.db" ;;
    postgres)
      pg_recreate "$1"
      DB="$PG/$1" ;;
    *) echo "store: sqlite or postgres" >&2; exit 2 ;;
  esac
}

# pg_drop NAME: drops database NAME on $PG if it is there (quietly).
pg_drop() {
  PGOPTIONS="-c client_min_messages=warning" psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $1" >/dev/null
}
# pg_recreate NAME [TEMPLATE]: database NAME on $PG, new and empty, or a
# copy of TEMPLATE.
pg_recreate() {
  pg_drop "$1"
  psql "$PG/postgres" -qc "CREATE DATABASE $1${2:+ TEMPLATE $2}" >/dev/null
}

pids=()
# start_server: `innkeep serve` from $BIN on $DB at 127.0.0.1:$PORT, with
# the per-guest and per-address abuse limits raised as api.md allows a
# load run to (a few clients doing what thousands of guests would); sets
# SERVER and waits until it is ready. RUST_LOG (default warn) passes on,
# e.g. `warn,sqlx::query=debug` to count statements.
start_server() {
  DATABASE_URL=$DB INNKEEP_BIND=127.0.0.1:$PORT RUST_LOG=${RUST_LOG:-warn} \
    JWT_SECRET=load-test-secret-load-test-secret-0123456789 \
    INNKEEP_MAX_HOLDS=1000000 INNKEEP_BOOKINGS_PER_MINUTE=0 INNKEEP_REGISTRATIONS_PER_HOUR=0 \
    "$BIN/innkeep" serve >"$OUT/server.log" 2>&1 &
  SERVER=$!; pids+=("$SERVER")
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
}
# pgbench_inserts LOG: pgbench one-row INSERT transactions into $DB, 64
# clients for $DURATION s (the PostgreSQL ceiling the write path is
# compared with); output to LOG, prints its tps line.
pgbench_inserts() {
  PGOPTIONS="-c client_min_messages=warning" psql "$DB" -qc "CREATE TABLE IF NOT EXISTS pgbench_one_insert (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())" >/dev/null
  echo "INSERT INTO pgbench_one_insert DEFAULT VALUES;" >"$OUT/insert.sql"
  pgbench -n -c 64 -j 2 -T "$DURATION" -f "$OUT/insert.sql" "$DB" >"$1" 2>&1
  grep -E '^tps' "$1"
}
# commits: the calendar committer's totals so far (from /metrics) and the
# property batches (mostly one booking each) per store transaction.
commits() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk -F'[{}" ]+' '
    /^innkeep_calendar_commits/ { n[$3] = $NF }
    END { printf "%d transactions, %d batches, %d changes, %.1f batches per transaction, %d split\n",
          n["transactions"], n["batches"], n["changes"],
          n["transactions"] ? n["batches"] / n["transactions"] : 0, n["split"] }'
}
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
# Output to the file named by the first argument.
spawn() { local log=$1; shift; "$@" >"$log" 2>&1 & pids+=("$!"); }

rate() { grep -E "^Requests/sec" "$1" | awk '{print $2}'; }
pct() { grep -E "^ +$2%" "$1" | awk '{print $2}'; }

# answers: the server's answers to POST /api/v1/bookings so far, one
# "STATUS COUNT" line per status (from its /metrics). The booking scripts
# count by status this way rather than in a wrk Lua response callback,
# which would cost the load generator, on the server's cores, a table of
# every answer's headers.
answers() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk -F'"' '
    /^innkeep_http_requests_total\{/ && /method="POST"/ && /route="\/api\/v1\/bookings"/ {
      for (i = 1; i < NF; i++) if ($i ~ /status=$/) s = $(i + 1)
      n = $NF; sub(/^[} ]+/, "", n); print s, n }'
}
# counted BEFORE AFTER: the answers between two `answers` snapshots, as
# "201: N  409: M  other: K".
counted() {
  { echo "$1" | sed 's/^/b /'; echo "$2" | sed 's/^/a /'; } | awk '
    $1 == "b" { b[$2] = $3 }
    $1 == "a" { d = $3 - b[$2]; if ($2 == 201) c += d; else if ($2 == 409) k += d; else o += d }
    END { printf "201: %d  409: %d  other: %d\n", c, k, o }'
}
# cpu PID: the process's user + system CPU time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# pg_cpu: clock ticks used so far by every PostgreSQL process on this
# machine (the server's backends, its WAL writer and checkpointer).
pg_cpu() { for p in $(pgrep -x postgres); do cpu "$p" 2>/dev/null || true; done | awk '{ t += $1 } END { print t + 0 }'; }
