#!/usr/bin/env bash
# bench/feed.sh: a full pull of the change feed's children (issue 13) —
# paged JSON and one NDJSON stream — against PostgreSQL's own COPY of the
# same stored entries, in the same run.  Not part of `make test`.
#
#   COPY    psql -c "COPY (SELECT <the snapshot's entry text from
#           feed_documents, as api/registry/changes.c builds it>) TO STDOUT"
#   JSON    GET /v1/changes?types=children&limit=1000, page after page, on one
#           keep-alive connection, until caught up (the client reads only the
#           next_cursor at the end of each page, so that it costs little)
#   NDJSON  GET /v1/changes?types=children with Accept: application/x-ndjson,
#           one request; the API's RSS is sampled every 50 ms while it runs
#
# Reports entries/s of each, their ratio to COPY, the CPU time the API and
# PostgreSQL spent on the NDJSON pull, and the API's RSS before and at most
# during it.  Every pull must deliver as many
# entries as COPY.
#
# Settings (environment):
#   BENCH_CHILDREN   demo children                (100000)
#   BENCH_ROUNDS     rounds (medians reported)    (3)
#   BENCH_HTTP_PORT  API port                     (8099)
#   BENCH_PG_DIR / BENCH_PG_PORT   the bench cluster (var/bench-pg / 54349)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
say() { echo "feed-bench: $*" >&2; }
die() { echo "feed-bench: FAILED: $*" >&2; exit 1; }

CHILDREN=${BENCH_CHILDREN:-100000}
ROUNDS=${BENCH_ROUNDS:-3}
HTTP_PORT=${BENCH_HTTP_PORT:-8099}
for setting in CHILDREN ROUNDS HTTP_PORT; do
  [[ ${!setting} =~ ^[0-9]+$ ]] || die "BENCH_$setting must be a whole number"
done
export BAOVE_PG_DIR=${BENCH_PG_DIR:-$REPO_ROOT/var/bench-pg}
export BAOVE_PG_PORT=${BENCH_PG_PORT:-54349}
# WAL archiving (docs/backups.md) off unless asked for: figures comparable across runs.
export BAOVE_PG_ARCHIVE=${BAOVE_PG_ARCHIVE:-off}
DB=baove_feed_bench
WORK=$(mktemp -d "${TMPDIR:-/tmp}/baove-feed-bench.XXXXXX")
unset BAOVE_NOW DATABASE_URL BAOVE_ADMIN_DATABASE_URL PGHOST PGPORT PGDATABASE PGUSER || true

CC=gcc cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
cmake --build build -j2 >&2

API_PID=""
cleanup() {
  if [[ -n $API_PID ]] && kill -0 "$API_PID" 2>/dev/null; then
    kill -TERM "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
  fi
  bash scripts/pg.sh stop || true
  rm -rf "$WORK"
}
trap cleanup EXIT

bash scripts/pg.sh start
bash scripts/pg.sh recreatedb "$DB"
APP_URL=$(bash scripts/pg.sh url "$DB")
ADMIN_URL=$(bash scripts/pg.sh admin-url "$DB")
su_sql() { bash scripts/pg.sh psql "$DB" -q -v ON_ERROR_STOP=1 -tA "$@"; }
DATABASE_URL=$APP_URL BAOVE_ADMIN_DATABASE_URL=$ADMIN_URL build/baove-admin migrate
say "seeding $CHILDREN demo children"
DATABASE_URL=$APP_URL BAOVE_ADMIN_DATABASE_URL=$ADMIN_URL \
  build/baove-admin seed --demo --children "$CHILDREN"
su_sql -c "VACUUM ANALYZE"

set -m
DATABASE_URL=$APP_URL BAOVE_HTTP_ADDR=127.0.0.1 BAOVE_HTTP_PORT=$HTTP_PORT \
  BAOVE_LOG_LEVEL=warn build/baove-api 2>"$WORK/api.log" &
API_PID=$!
set +m
BASE_URL=http://127.0.0.1:$HTTP_PORT
for ((i = 0; i < 150; i++)); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE_URL/readyz") == 200 ]] && break
  sleep 0.1
done
TOKEN=$(DATABASE_URL=$APP_URL BAOVE_ADMIN_DATABASE_URL=$ADMIN_URL \
          build/baove-admin token issue --username demo_district)

# The snapshot's entries of children as the API builds them (read_snapshot),
# for the whole table: what the pulls deliver, as PostgreSQL alone copies it.
COPY_SQL="COPY (SELECT '{\"cursor\":\"' || d.id || ':snapshot:1:' || f.resource_type || ':'
  || f.resource_id || '\",\"type\":\"' || f.resource_type || '\",\"id\":\"' || f.resource_id
  || '\",\"child_id\":' || coalesce('\"' || f.child_id || '\"', 'null') || ',\"version\":'
  || f.version || ',\"operation\":\"snapshot\",\"record\":' || f.record || '}'
  FROM feed_documents f, database_identity d WHERE f.resource_type = 'children'
  ORDER BY f.resource_type, f.resource_id) TO STDOUT"

now() { date +%s.%N; }
rate() { python3 -c "import sys; print(round(int(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }

paged_pull() { # prints the number of entries
  python3 - "$HTTP_PORT" "$TOKEN" <<'EOF'
import http.client, re, sys
port, token = int(sys.argv[1]), sys.argv[2]
connection = http.client.HTTPConnection("127.0.0.1", port)
cursor, entries = "", 0
tail = re.compile(rb'"next_cursor":"([^"]*)","phase":"([a-z]+)"\}$')
while True:
    path = "/v1/changes?types=children&limit=1000" + ("&cursor=" + cursor if cursor else "")
    connection.request("GET", path, headers={"Authorization": "Bearer " + token})
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        sys.exit("paged pull: %d %s" % (response.status, body[:300]))
    match = tail.search(body[-400:])
    count = body.count(b'{"cursor":')
    entries += count
    cursor = match.group(1).decode()
    if match.group(2) == b"changes" and count < 1000:
        break
print(entries)
EOF
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$API_PID/status"; }

# CPU clock ticks used so far (utime + stime, /proc/PID/stat fields 14 and 15,
# counted after "(comm) "): the API, all its threads; and the cluster, every
# live process under the postmaster plus what its ended children used
# (the postmaster's cutime + cstime).
api_ticks() { sed 's/^.*) //' "/proc/$API_PID/stat" | awk '{print $12 + $13}'; }
pg_ticks() {
  local postmaster
  postmaster=$(head -n 1 "$BAOVE_PG_DIR/data/postmaster.pid")
  {
    sed 's/^.*) //' "/proc/$postmaster/stat" | awk '{print $12 + $13 + $14 + $15}'
    for child in $(pgrep -P "$postmaster"); do
      sed 's/^.*) //' "/proc/$child/stat" 2>/dev/null | awk '{print $12 + $13}'
    done
  } | awk '{sum += $1} END {print sum}'
}
CLOCK_TICKS=$(getconf CLK_TCK)

declare -a COPY_RATES JSON_RATES NDJSON_RATES PEAKS API_CPU PG_CPU
for ((round = 1; round <= ROUNDS; round++)); do
  start=$(now)
  copied=$(su_sql -c "$COPY_SQL" | wc -l)
  copy_seconds=$(python3 -c "print($(now) - $start)")

  start=$(now)
  paged=$(paged_pull)
  json_seconds=$(python3 -c "print($(now) - $start)")

  before=$(rss_kib)
  echo "$before" >"$WORK/rss"
  (while kill -0 "$API_PID" 2>/dev/null; do rss_kib >>"$WORK/rss"; sleep 0.05; done) &
  SAMPLER=$!
  api_before=$(api_ticks)
  pg_before=$(pg_ticks)
  start=$(now)
  curl -sf -H "Authorization: Bearer $TOKEN" -H 'Accept: application/x-ndjson' \
    "$BASE_URL/v1/changes?types=children" -o "$WORK/pull.ndjson" || die "NDJSON pull failed"
  ndjson_seconds=$(python3 -c "print($(now) - $start)")
  API_CPU+=("$(((($(api_ticks) - api_before) * 1000) / CLOCK_TICKS))")
  PG_CPU+=("$(((($(pg_ticks) - pg_before) * 1000) / CLOCK_TICKS))")
  kill "$SAMPLER" 2>/dev/null || true
  wait "$SAMPLER" 2>/dev/null || true
  streamed=$(($(wc -l <"$WORK/pull.ndjson") - 1)) # the last line is the next cursor
  tail -n 1 "$WORK/pull.ndjson" | grep -q '"next_cursor"' || die "the NDJSON pull was cut short"
  peak=$(sort -n "$WORK/rss" | tail -n 1)

  [[ $copied == "$CHILDREN" && $paged == "$copied" && $streamed == "$copied" ]] ||
    die "entries differ: COPY $copied, JSON pages $paged, NDJSON $streamed (children $CHILDREN)"
  COPY_RATES+=("$(rate "$copied" "$copy_seconds")")
  JSON_RATES+=("$(rate "$paged" "$json_seconds")")
  NDJSON_RATES+=("$(rate "$streamed" "$ndjson_seconds")")
  PEAKS+=("$peak")
  say "round $round: COPY ${COPY_RATES[-1]}/s, JSON ${JSON_RATES[-1]}/s, NDJSON ${NDJSON_RATES[-1]}/s (CPU: API ${API_CPU[-1]} ms, PostgreSQL ${PG_CPU[-1]} ms), API RSS $before KiB before, $peak KiB at most"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
copy=$(median "${COPY_RATES[@]}")
json=$(median "${JSON_RATES[@]}")
ndjson=$(median "${NDJSON_RATES[@]}")
peak=$(median "${PEAKS[@]}")
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
cat <<EOF
full pull of $CHILDREN children (median of $ROUNDS rounds; $(nproc) cores)
  COPY of the stored entries  $copy entries/s
  JSON pages of 1000          $json entries/s   ($(ratio "$json" "$copy") x COPY)
  NDJSON, one stream          $ndjson entries/s   ($(ratio "$ndjson" "$copy") x COPY)
  CPU during the NDJSON pull  API $(median "${API_CPU[@]}") ms, PostgreSQL $(median "${PG_CPU[@]}") ms
  API RSS during NDJSON       at most $((peak / 1024)) MiB (median of the rounds' peaks)
EOF
