#!/usr/bin/env bash
# Memory of the write path (issue 12): the server's RSS idle, after the
# spread fixture (200 guests, 1,000 properties), after DURATION s of wrk's
# random stays at 64 connections, and once every calendar has passivated
# (INNKEEP_CALENDAR_IDLE_SECS=10) and the server has been idle a while.
#
#   bash loadtests/memory.sh BIN_DIR sqlite|postgres
#
# Allocator settings can be tried without a rebuild (MIMALLOC_* variables
# pass on to the server).
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=${2:-sqlite}
DURATION=${DURATION:-10}
PORT=${PORT:-18181}
OUT=${OUT:-/tmp/innkeep-memory-$STORE}
HOST=http://127.0.0.1:$PORT
. loadtests/lib.sh
BIN=${1:?the directory of an innkeep release build}
fresh_db innkeep_memory

rss() { echo "$(( $(ps -o rss= -p "$SERVER") / 1024 )) MB"; }
live() { curl -sf "$HOST/metrics" | awk '/^innkeep_live_calendars /{print $2}'; }

INNKEEP_CALENDAR_IDLE_SECS=10 start_server
sleep 2
echo "idle at start: $(rss)"
eval "$("$BIN/fixture" --host "$HOST" --guests 200 --properties 1000)"
export TOKENS PROPERTIES
echo "after the fixture: $(rss)"
wrk -t2 -c64 -d"${DURATION}s" -s loadtests/wrk/book_spread.lua "$HOST" >"$OUT/wrk-spread.log"
echo "after ${DURATION} s of random stays ($(live) calendars live): $(rss)"
for _ in $(seq 1 60); do [ "$(live)" = 0 ] && break; sleep 1; done
sleep 5
echo "calendars passivated ($(live) live), 5 s later: $(rss)"
sleep 30
echo "35 s later: $(rss)"
