#!/usr/bin/env bash
# Search at scale (issue 13): seeds PROPERTIES listings (default 100,000)
# into a fresh database with `innkeep seed`, serves it from a release build,
# and runs the five query shapes of loadtests/wrk/search.lua at 32
# connections, printing requests/s, p50 and p99 of each; then prints the
# query plan of each shape (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY
# PLAN on SQLite) for benches/README.md.
#
#   bash loadtests/search.sh sqlite
#   bash loadtests/search.sh postgres   # PostgreSQL on 127.0.0.1:5432 (trust)
#
# Needs wrk (apt-get install wrk) and psql or sqlite3. DURATION (seconds per
# shape, default 20), CONNS (default 32) and PROPERTIES change the run.
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=${1:-sqlite}
DURATION=${DURATION:-20}
CONNS=${CONNS:-32}
PROPERTIES=${PROPERTIES:-100000}
PORT=${PORT:-18081}
OUT=${OUT:-/tmp/innkeep-search-$STORE}
HOST=http://127.0.0.1:$PORT
. loadtests/lib.sh
fresh_run innkeep_search

export DATABASE_URL=$DB JWT_SECRET=load-test-secret-load-test-secret-0123456789
echo "== $STORE: seeding $PROPERTIES properties"
start=$(date +%s.%N)
RUST_LOG=info "$BIN/innkeep" seed --properties "$PROPERTIES" >"$OUT/seed.log" 2>&1
end=$(date +%s.%N)
grep -E "seeded" "$OUT/seed.log" | sed 's/^/    /' | cut -c1-300
awk -v s="$start" -v e="$end" 'BEGIN { printf "-- seed wall time (migrations included): %.1f s\n", e - s }'
if [ "$STORE" = postgres ]; then
  # What a production database does on its own after a bulk load.
  psql "$DB" -qc "VACUUM ANALYZE" >/dev/null
else
  sqlite3 "$OUT/innkeep.db" "ANALYZE;"
fi

spawn "$OUT/server.log" env INNKEEP_BIND=127.0.0.1:$PORT RUST_LOG=warn "$BIN/innkeep" serve
for _ in $(seq 1 100); do curl -sf "$HOST/readyz" >/dev/null && break; sleep 0.1; done

echo "== $STORE, $PROPERTIES properties, $CONNS connections, ${DURATION}s per shape, $(nproc) cores shared with wrk"
for shape in city city_dates bbox_dates amenities_price rating; do
  SHAPE=$shape wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency -s loadtests/wrk/search.lua "$HOST" >"$OUT/wrk-$shape.log"
  printf '%-16s %9s req/s  p50 %8s  p99 %8s  %s\n' "$shape" "$(rate "$OUT/wrk-$shape.log")" \
    "$(pct "$OUT/wrk-$shape.log" 50)" "$(pct "$OUT/wrk-$shape.log" 99)" \
    "$(grep -E 'Non-2xx' "$OUT/wrk-$shape.log" || true)"
done

# The plans. The SQL is what PropertyStore::search_properties builds for
# each shape (src/store/properties_sql.rs), with typical values. bbox +
# dates by price: a page per grid cell of the box (Lisbon's city-centre box
# covers two), merged, the page's rows joined last.
in=$(date -u -d '+40 days' +%F); out=$(date -u -d '+43 days' +%F)
cols="p.id, p.title, p.price_per_night"
rating="CASE WHEN review_count = 0 THEN 0 ELSE (rating_sum * 100) / review_count END"
free="p.min_nights <= 3 AND p.max_nights >= 3 AND NOT EXISTS (SELECT 1 FROM calendar_entries c WHERE c.property_id = p.id AND c.active AND c.end_date > '$in' AND c.start_date < '$out')"
if [ "$STORE" = postgres ]; then
  bbox="point(p.longitude, p.latitude) <@ box(point(-9.17, 38.69), point(-9.11, 38.75))"
  amen="p.amenities ? 'pool' AND p.amenities ? 'wifi'"
  else
  bbox="p.longitude BETWEEN -9.17 AND -9.11 AND p.latitude BETWEEN 38.69 AND 38.75"
  amen="EXISTS (SELECT 1 FROM json_each(p.amenities) WHERE value = 'pool') AND EXISTS (SELECT 1 FROM json_each(p.amenities) WHERE value = 'wifi')"
fi
# Lisbon's box lies in cells 4632594 and 4636195 (properties::geo_cell).
if [ "$STORE" = postgres ]; then
  in_cell="p.geo_cell ="
else
  in_cell="(CAST((p.latitude + 90) * 10 AS INTEGER) * 3601 + CAST((p.longitude + 180) * 10 AS INTEGER)) ="
fi
cells=""
for cell in 4632594 4636195; do
  [ -n "$cells" ] && cells="$cells UNION ALL "
  cells="$cells SELECT * FROM (SELECT p.id, p.price_per_night AS sort_key FROM properties p WHERE p.listed AND $in_cell $cell AND p.max_guests >= 2 AND $bbox AND $free ORDER BY p.price_per_night ASC, p.id ASC LIMIT 21) cell$cell"
done
declare -A sql=(
  [city]="SELECT $cols FROM properties p WHERE p.listed AND lower(p.city) = lower('Paris') ORDER BY p.id DESC LIMIT 21"
  [city_dates]="SELECT $cols FROM properties p WHERE p.listed AND lower(p.city) = lower('Paris') AND $free ORDER BY p.id DESC LIMIT 21"
  [bbox_dates]="SELECT $cols FROM ($cells ORDER BY sort_key ASC, id ASC LIMIT 21) page JOIN properties p ON p.id = page.id ORDER BY page.sort_key ASC, p.id ASC"
  [amenities_price]="SELECT $cols FROM properties p WHERE p.listed AND p.price_per_night >= 10000 AND p.price_per_night <= 20000 AND $amen ORDER BY p.id DESC LIMIT 21"
  [rating]="SELECT $cols FROM properties p WHERE p.listed ORDER BY $rating DESC, p.id DESC LIMIT 21"
)
for shape in city city_dates bbox_dates amenities_price rating; do
  echo "-- plan: $shape"
  echo "${sql[$shape]};" | sed 's/^/    /'
  if [ "$STORE" = postgres ]; then
    psql "$DB" -qAt -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) ${sql[$shape]}" | sed 's/^/    /'
  else
    sqlite3 "$OUT/innkeep.db" "EXPLAIN QUERY PLAN ${sql[$shape]};" | sed 's/^/    /'
  fi
done
echo "-- server RSS after the runs: $(ps -o rss= -p "${pids[0]}") KiB"
