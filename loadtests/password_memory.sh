#!/usr/bin/env bash
# RSS of the server around password hashing: idle, after 1,000 sign-ups and
# after 1,000 sign-ins, 40 at a time (issue 9: argon2 took 19 MiB a call on
# any of tokio's blocking threads, and the allocator kept it).
#
#   bash loadtests/password_memory.sh [path/to/innkeep] [extra env...]
#
# e.g. `bash loadtests/password_memory.sh target/release/innkeep MALLOC_ARENA_MAX=2`.
# Needs curl. Uses a fresh SQLite file and a free port; loopback only.
set -euo pipefail
BIN=${1:-${CARGO_TARGET_DIR:-target}/release/innkeep}
shift || true
DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT/api/v1
env "$@" DATABASE_URL="sqlite://$DIR/innkeep.db" INNKEEP_BIND=127.0.0.1:$PORT \
  INNKEEP_REGISTRATIONS_PER_HOUR=0 RUST_LOG=warn "$BIN" serve >"$DIR/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DIR"' EXIT
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do sleep 0.2; done
rss() { awk '/VmRSS/ {printf "%.0f MB", $2/1024}' "/proc/$PID/status"; }
echo "idle: $(rss)"
json='content-type: application/json'
seq 1 1000 | xargs -P 40 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "$json" \
  -d '{"email":"user{}@example.com","password":"load test password","name":"U"}' \
  "$BASE/auth/register" | sort | uniq -c | sed 's/^/  sign-ups: /'
echo "after 1,000 sign-ups: $(rss)"
seq 1 1000 | xargs -P 40 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "$json" \
  -d '{"email":"user{}@example.com","password":"load test password"}' \
  "$BASE/auth/login" | sort | uniq -c | sed 's/^/  sign-ins: /'
echo "after 1,000 sign-ins: $(rss)"
