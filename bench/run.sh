#!/usr/bin/env bash
# bench/run.sh (make bench): throughput of the API against its own database
# work.  Not part of `make test`.
#
# For each scenario, wrk drives baove-api over HTTP and pgbench runs, on the
# same database in the same run, exactly the SQL statements the API runs per
# request (bench/get_child.sql, bench/put_child.sql).  The ratio API req/s /
# pgbench tps is what the HTTP layer (libmicrohttpd's epoll thread, the pool
# of request threads, routing, JSON, authentication, and the pool of database
# connections) leaves of the database's throughput; the target is >= 0.8.
# See bench/README.md.
#
#   A  GET /v1/children/{id}: authenticated, scoped (row-level security) and
#      audited reads of random children among BENCH_CHILDREN demo children
#   B  PUT /v1/children/{id}: creates under fresh random UUIDs
#
# Steps: scripts/deps.sh; build build/ (the release build `make run` uses); a
# dedicated cluster in var/bench-pg (port 54349) with a fresh database
# baove_bench; migrate; seed --demo --children N; baove-api on 127.0.0.1:8099;
# then, per scenario, BENCH_ROUNDS rounds of wrk, pgbench with as many
# clients, and pgbench with as many clients as the API has database
# connections, BENCH_DB_CONNECTIONS (after an unmeasured warm-up).  Prints
# the table and writes it to var/bench-results.txt (raw outputs in
# var/bench-logs/).  A run with any non-2xx response, socket error or failed
# pgbench transaction fails, and so does one whose audit entries do not match
# its requests or transactions.  The API and the cluster are stopped on exit,
# also on failure or Ctrl-C.
#
# Settings (environment):
#   BENCH_CHILDREN        demo children to seed and read     (100000)
#   BENCH_DURATION        seconds per measured run           (15)
#   BENCH_ROUNDS          measured rounds per scenario       (3; medians are reported)
#   BENCH_WARMUP          seconds of unmeasured warm-up      (3)
#   BENCH_CONNECTIONS     wrk connections = pgbench clients  (16)
#   BENCH_WRK_THREADS     wrk threads                        (1)
#   BENCH_PGBENCH_THREADS pgbench threads (-j)               (1)
#   BENCH_DB_CONNECTIONS  BAOVE_DB_CONNECTIONS of the API    (2 x cores, the API's own default)
#   BENCH_POOL_COMPARISON 1: also run pgbench with BENCH_DB_CONNECTIONS
#                         clients, the API's database concurrency (1; 0 skips it)
#   BENCH_HTTP_PORT       API port                           (8099)
#   BENCH_PEER            1: also measure the Node peer (bench/peer/: node:http + pg,
#                         the same statements and pool size) in scenario A's rounds (1)
#   BENCH_PEER_PORT       the peer's port                    (8098)
#   BENCH_BASELINE_DIR    a built checkout of another commit (say, main's), whose
#                         build/baove-api runs beside this one on BENCH_BASELINE_PORT
#                         (HTTP_PORT + 1) over a database of its own, migrated and
#                         seeded by its own build/baove-admin from its own sql/ (so its
#                         SQL functions are its own), and is driven right after this
#                         one in every round: A/B ratios from interleaved rounds
#                         (unset: none)
#   BENCH_LEAST           1: also run pgbench on the least SQL each job needs in one
#                         round trip (bench/*_least.sql: the physical limit) (1)
#   BENCH_LIVED_IN        1: then A and B again "lived in": after an ANALYZE of
#                         the grown database, with baove-worker running at the
#                         default log level (1)
#   BENCH_WORKER_PAIRS    1: after B2, W: PUT creates in rounds of a pair, the
#                         worker stopped, then running (started again), so that
#                         what the worker costs writers is measured on a machine
#                         in the same state (1; needs BENCH_LIVED_IN)
#   BENCH_PG_DIR / BENCH_PG_PORT   the bench cluster         (var/bench-pg / 54349)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

say() { echo "bench: $*" >&2; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }

CHILDREN=${BENCH_CHILDREN:-100000}
DURATION=${BENCH_DURATION:-15}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
PGBENCH_THREADS=${BENCH_PGBENCH_THREADS:-1}
# The API takes 4 x the online cores when BAOVE_DB_CONNECTIONS is unset
# (api/main.c, sysconf(_SC_NPROCESSORS_ONLN)); we pass the same explicitly.
DB_CONNECTIONS=${BENCH_DB_CONNECTIONS:-$((4 * $(getconf _NPROCESSORS_ONLN)))}
POOL_COMPARISON=${BENCH_POOL_COMPARISON:-1}
HTTP_PORT=${BENCH_HTTP_PORT:-8099}
PEER=${BENCH_PEER:-1}
LEAST=${BENCH_LEAST:-1}
PEER_PORT=${BENCH_PEER_PORT:-8098}
LIVED_IN=${BENCH_LIVED_IN:-1}
WORKER_PAIRS=${BENCH_WORKER_PAIRS:-1}
[[ -z ${BENCH_BASELINE_API:-} ]] ||
  die "BENCH_BASELINE_API is gone: set BENCH_BASELINE_DIR to a built checkout (the baseline then runs on a database of its own, with its own SQL functions)"
BASELINE_DIR=${BENCH_BASELINE_DIR:-}
BASELINE_API=""
if [[ -n $BASELINE_DIR ]]; then
  BASELINE_DIR=$(cd "$BASELINE_DIR" && pwd) || die "BENCH_BASELINE_DIR ($BENCH_BASELINE_DIR) is not a directory"
  BASELINE_API=$BASELINE_DIR/build/baove-api
  for binary in baove-api baove-admin baove-worker; do
    [[ -x $BASELINE_DIR/build/$binary ]] ||
      die "BENCH_BASELINE_DIR: $BASELINE_DIR/build/$binary is missing (build that checkout first)"
  done
fi
BASELINE_PORT=${BENCH_BASELINE_PORT:-$((HTTP_PORT + 1))}
[[ -z ${BENCH_API_THREADS:-} ]] ||
  die "BENCH_API_THREADS is gone: the API runs requests on a pool of threads as large as its pool of database connections (set BENCH_DB_CONNECTIONS)"
for setting in CHILDREN DURATION ROUNDS WARMUP CONNECTIONS WRK_THREADS PGBENCH_THREADS \
               DB_CONNECTIONS POOL_COMPARISON HTTP_PORT PEER PEER_PORT LIVED_IN WORKER_PAIRS; do
  [[ ${!setting} =~ ^[0-9]+$ ]] || die "BENCH_$setting must be a whole number, got '${!setting}'"
done
((CHILDREN >= 1 && DURATION >= 1 && ROUNDS >= 1 && CONNECTIONS >= 1 && WRK_THREADS >= 1 &&
  PGBENCH_THREADS >= 1 && DB_CONNECTIONS >= 1)) || die "the BENCH_* counts must be at least 1"
((WRK_THREADS <= CONNECTIONS && PGBENCH_THREADS <= CONNECTIONS)) ||
  die "BENCH_WRK_THREADS and BENCH_PGBENCH_THREADS must not exceed BENCH_CONNECTIONS"

export BAOVE_PG_DIR=${BENCH_PG_DIR:-$REPO_ROOT/var/bench-pg}
export BAOVE_PG_PORT=${BENCH_PG_PORT:-54349}
# WAL archiving (docs/backups.md) off unless asked for: figures comparable across runs.
export BAOVE_PG_ARCHIVE=${BAOVE_PG_ARCHIVE:-off}
DB=baove_bench
BASELINE_DB=baove_bench_baseline
RESULTS=$REPO_ROOT/var/bench-results.txt
LOGS=$REPO_ROOT/var/bench-logs

# Our libpq clients (psql, pgbench) must reach the bench cluster and nothing
# else, with only the session settings we give them below.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE PGSERVICE \
      PGSERVICEFILE PGOPTIONS PGSSLMODE PGCONNECT_TIMEOUT || true
# The API must judge dates against the real today (the PUT body's dates are
# checked against it), and its settings are ours.
unset BAOVE_NOW DATABASE_URL BAOVE_ADMIN_DATABASE_URL BAOVE_DB_WAIT_MS || true

# Whatever else runs on the machine competes with the benchmark for the
# cores: note the load now, before our own build and seeding add to it.
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)

bash scripts/deps.sh
command -v wrk >/dev/null || die "wrk is not installed (scripts/deps.sh should have installed it)"
command -v pgbench >/dev/null || die "pgbench is not installed (it comes with postgresql-15)"
command -v curl >/dev/null || die "curl is not installed"

# The release build, configured exactly as `make run` / `make build` do
# (their chatter to stderr: stdout is the report).
CC=gcc cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
cmake --build build -j2 >&2

API_PID=""
PEER_PID=""
BASELINE_PID=""
WORKER_PID=""
BASELINE_WORKER_PID=""
CLEANED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/baove-bench.XXXXXX")

# shellcheck disable=SC2317  # invoked from traps
cleanup() {
  ((CLEANED)) && return 0
  CLEANED=1
  if [[ -n $API_PID ]] && kill -0 "$API_PID" 2>/dev/null; then
    say "stopping baove-api (pid $API_PID)"
    kill -TERM "$API_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 150; i++)); do
      kill -0 "$API_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$API_PID" 2>/dev/null; then
      say "baove-api did not stop after 15 s; sending SIGKILL"
      kill -KILL "$API_PID" 2>/dev/null || true
    fi
    wait "$API_PID" 2>/dev/null || true
  fi
  local pid
  for pid in $PEER_PID $BASELINE_PID $WORKER_PID $BASELINE_WORKER_PID; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  bash scripts/pg.sh stop || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# ---- the database ----------------------------------------------------------

bash scripts/pg.sh start
bash scripts/pg.sh recreatedb "$DB" # drops an earlier run's database first
APP_URL=$(bash scripts/pg.sh url "$DB")
ADMIN_URL=$(bash scripts/pg.sh admin-url "$DB")

# psql as the cluster's superuser (for checks, CHECKPOINT, VACUUM).
su_sql() { bash scripts/pg.sh psql "$DB" -q -v ON_ERROR_STOP=1 -tA "$@"; }

DATABASE_URL=$APP_URL BAOVE_ADMIN_DATABASE_URL=$ADMIN_URL build/baove-admin migrate
say "seeding the demo users and $CHILDREN demo children"
DATABASE_URL=$APP_URL BAOVE_ADMIN_DATABASE_URL=$ADMIN_URL \
  build/baove-admin seed --demo --children "$CHILDREN"

# The reads pick g in 1..N and expect demo child g, whose id admin/demo.c
# derives from md5('baove-demo-child-' || g) with the UUID version (4) and
# variant bits set (the same expression is in bench/get_child.sql).  A
# mismatch would make every read a 404: check first.
DEMO_ID="(left(md5('baove-demo-child-' || g), 12) || '4' || substr(md5('baove-demo-child-' || g), 14, 3)
          || translate(substr(md5('baove-demo-child-' || g), 17, 1), '0123456789abcdef', '89ab89ab89ab89ab')
          || substr(md5('baove-demo-child-' || g), 18))::uuid"
seeded=$(su_sql -c "SELECT count(*) FROM generate_series(1, $CHILDREN) g
                      JOIN children c ON c.id = $DEMO_ID WHERE c.deleted_at IS NULL")
[[ $seeded == "$CHILDREN" ]] ||
  die "found $seeded of the $CHILDREN demo children (g = 1..$CHILDREN) after 'baove-admin seed --demo --children $CHILDREN'; bench/run.sh and bench/get_child.sql must derive demo ids as admin/demo.c does"
su_sql -c "VACUUM ANALYZE"
# Lua has no md5: wrk reads the ids from a file (bench/get_child.lua).
su_sql -c "SELECT $DEMO_ID FROM generate_series(1, $CHILDREN) g" >"$WORK/ids"

# The baseline's own database: its migrations and functions, its seed.
if [[ -n $BASELINE_DIR ]]; then
  bash scripts/pg.sh recreatedb "$BASELINE_DB"
  BASELINE_APP_URL=$(bash scripts/pg.sh url "$BASELINE_DB")
  BASELINE_ADMIN_URL=$(bash scripts/pg.sh admin-url "$BASELINE_DB")
  baseline_admin() {
    DATABASE_URL=$BASELINE_APP_URL BAOVE_ADMIN_DATABASE_URL=$BASELINE_ADMIN_URL \
      "$BASELINE_DIR/build/baove-admin" "$@"
  }
  say "baseline ($BASELINE_DIR, $(git -C "$BASELINE_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')): its own database $BASELINE_DB"
  baseline_admin migrate
  baseline_admin seed --demo --children "$CHILDREN"
  seeded=$(bash scripts/pg.sh psql "$BASELINE_DB" -q -v ON_ERROR_STOP=1 -tA -c "
    SELECT count(*) FROM generate_series(1, $CHILDREN) g
      JOIN children c ON c.id = $DEMO_ID WHERE c.deleted_at IS NULL")
  [[ $seeded == "$CHILDREN" ]] || die "the baseline's seed holds $seeded of the $CHILDREN demo children"
  bash scripts/pg.sh psql "$BASELINE_DB" -q -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE"
fi

# ---- the API ---------------------------------------------------------------

BASE_URL=http://127.0.0.1:$HTTP_PORT
if curl -s -o /dev/null --max-time 1 "$BASE_URL/healthz"; then
  die "something already listens on 127.0.0.1:$HTTP_PORT (set BENCH_HTTP_PORT)"
fi
per_ip=$((CONNECTIONS * 2 > 256 ? CONNECTIONS * 2 : 256))
mkdir -p "$LOGS"
rm -f "$LOGS"/*
# Own process group (set -m): a Ctrl-C reaches this script, whose trap stops
# the API in order.
set -m
DATABASE_URL=$APP_URL BAOVE_HTTP_ADDR=127.0.0.1 BAOVE_HTTP_PORT=$HTTP_PORT \
  BAOVE_DB_CONNECTIONS=$DB_CONNECTIONS BAOVE_HTTP_MAX_CONNECTIONS_PER_IP=$per_ip \
  BAOVE_LOG_LEVEL=warn build/baove-api 2>"$LOGS/api.log" &
API_PID=$!
set +m
ready=0
for ((i = 0; i < 150; i++)); do
  kill -0 "$API_PID" 2>/dev/null || break
  if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$BASE_URL/readyz") == 200 ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
if ((!ready)); then
  tail -n 20 "$LOGS/api.log" >&2 || true
  die "baove-api did not become ready on $BASE_URL"
fi

# The baseline API (BENCH_BASELINE_DIR): the same settings, its own port and
# database.
if [[ -n $BASELINE_API ]]; then
  set -m
  DATABASE_URL=$BASELINE_APP_URL BAOVE_HTTP_ADDR=127.0.0.1 BAOVE_HTTP_PORT=$BASELINE_PORT \
    BAOVE_DB_CONNECTIONS=$DB_CONNECTIONS BAOVE_HTTP_MAX_CONNECTIONS_PER_IP=$per_ip \
    BAOVE_LOG_LEVEL=warn "$BASELINE_API" 2>"$LOGS/baseline.log" &
  BASELINE_PID=$!
  set +m
  for ((i = 0; i < 150; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$BASELINE_PORT/readyz") == 200 ]] && break
    sleep 0.1
  done
fi

# The Node peer (scenario A): its npm packages from the lockfile, then the
# server with as many database connections as the API.
if ((PEER)); then
  command -v node >/dev/null || die "node is not installed (BENCH_PEER=0 skips the peer)"
  if [[ ! -d bench/peer/node_modules ]]; then
    (cd bench/peer && npm ci --no-audit --no-fund >&2)
  fi
  set -m
  DATABASE_URL=$APP_URL PEER_PORT=$PEER_PORT PEER_POOL=$DB_CONNECTIONS \
    node bench/peer/server.mjs 2>"$LOGS/peer.log" &
  PEER_PID=$!
  set +m
  for ((i = 0; i < 50; i++)); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PEER_PORT/" && break
    sleep 0.1
  done
fi

# A session token of demo_district (since 1/7/2025 a province officer of 82:
# the whole province is in scope), and what the API's token lookup finds for it.
TOKEN=$(DATABASE_URL=$APP_URL BAOVE_ADMIN_DATABASE_URL=$ADMIN_URL \
          build/baove-admin token issue --username demo_district)
TOKEN_HASH=$(printf '%s' "$TOKEN" | sha256sum | cut -c1-64)
[[ -z $BASELINE_DIR ]] || BASELINE_TOKEN=$(baseline_admin token issue --username demo_district)
IFS='|' read -r PRINCIPAL_ID USERNAME ROLE SCOPE_UNIT < <(su_sql -c "
  SELECT p.id, p.username, p.role, p.unit_id FROM access_tokens t
    JOIN principals p ON p.id = t.principal_id WHERE t.token_hash = '$TOKEN_HASH'")
[[ -n ${SCOPE_UNIT:-} ]] || die "the token issued for demo_district is not in access_tokens"

# The PUT body (scenario B): the API re-serialises it compactly with the same
# members in the same order, which is the text pgbench passes as :document.
# Today's tree (since 1/7/2025): Xã Long Khánh 29983, successor of Long
# Khánh A 29980, under province 82 where demo_district now works.
UNIT=29983
REGISTERED_ON=2025-07-10
DOCUMENT='{"unit":"'$UNIT'","full_name":"Nguyễn Thị Ngọc Hân","sex":"female","date_of_birth":"2012-05-04","registered_on":"'$REGISTERED_ON'"}'

# One request of each kind by hand first: a scenario that answers errors is
# not worth measuring.
check_status() { # expected method path [body]
  local expected=$1 method=$2 path=$3 body=${4:-} status
  local args=(-s --max-time 30 -o "$WORK/reply" -w '%{http_code}' -X "$method"
              -H "Authorization: Bearer $TOKEN")
  [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  status=$(curl "${args[@]}" "$BASE_URL$path")
  if [[ $status != "$expected" ]]; then
    cat "$WORK/reply" >&2 || true
    echo >&2
    die "$method $path answered $status, expected $expected"
  fi
}
check_status 200 GET "/v1/children/$(head -n 1 "$WORK/ids")"
check_status 201 PUT "/v1/children/$(cat /proc/sys/kernel/random/uuid)" "$DOCUMENT"

# ---- measuring ---------------------------------------------------------------

# The values the API binds as parameters, fixed for the run: "now" as
# common/clock.c formats instants, today in Asia/Ho_Chi_Minh (UTC+07:00, no
# DST), a request id shaped like the API's own.
NOW=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
TODAY=$(date -u -d '+7 hours' +%F)
PGBENCH_VARS=(
  -D "token_hash=$TOKEN_HASH" -D "now=$NOW" -D "today=$TODAY"
  -D "principal_id=$PRINCIPAL_ID" -D "username=$USERNAME" -D "role=$ROLE"
  -D "scope_unit=$SCOPE_UNIT" -D "request_id=$(cat /proc/sys/kernel/random/uuid)"
  -D "children=$CHILDREN" -D "action_read=read" -D "action_create=create"
  -D "resource_type=children" -D "outcome=success" -D "unit=$UNIT"
  -D "registered_on=$REGISTERED_ON" -D "document=$DOCUMENT" -D "run=$(date +%s%N)"
)
# The API's connections run SET TIME ZONE 'UTC', datestyle and intervalstyle
# (common/db.c db_connect); pgbench's sessions get the same settings.
PGBENCH_OPTIONS='-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601'

# AUDIT_DB: the database whose audit log the run being checked writes to.
AUDIT_DB=$DB
count_audit() {
  bash scripts/pg.sh psql "$AUDIT_DB" -q -v ON_ERROR_STOP=1 -tA \
    -c "SELECT count(*) FROM audit_log WHERE action = '$1'"
}

# wrk's latency ("850.12us", "18.48ms", "1.02s") in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
    else { sub(/s$/, "", v); printf "%.2f", v * 1000 } }'
}

# CPU time (clock ticks) the API has used, all its threads together, those
# that have already ended included (a connection's thread ends with it):
# utime + stime of /proc/PID/stat, fields 12 and 13 after "(comm) ".
api_ticks() { sed 's/^.*) //' "/proc/$TARGET_PID/stat" | awk '{print $12 + $13}'; }
# Busy and total clock ticks of all the machine's cores, from /proc/stat's
# "cpu" line (user nice system idle iowait irq softirq steal; guest time is
# already in user): what wrk, the API, PostgreSQL and anything else used.
machine_ticks() {
  awk '$1 == "cpu" {for (i = 2; i <= 9; i++) total += $i; print total - $5 - $6, total; exit}' /proc/stat
}
CLOCK_TICKS=$(getconf CLK_TCK)

# What run_wrk drives and whose CPU it counts: the API, or the peer.
TARGET_URL=$BASE_URL
TARGET_PID=$API_PID

# run_wrk NAME SECONDS LUA ARGS... — sets WRK_RPS, WRK_P50, WRK_P99,
# WRK_REQUESTS, WRK_API_CPU (the API's CPU time over the run in % of one
# core), WRK_API_MS (its CPU milliseconds per request) and WRK_MACHINE_BUSY
# (% of all the cores busy over the run, whoever used them).
run_wrk() {
  local name=$1 seconds=$2 lua=$3 out api_before machine_before started elapsed_ns
  shift 3
  out=$LOGS/$name.wrk.txt
  api_before=$(api_ticks)
  machine_before=$(machine_ticks)
  started=$(date +%s%N)
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${seconds}s" --latency -s "$lua" "$TARGET_URL" \
      -- "$@" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed ($name)"; }
  elapsed_ns=$(($(date +%s%N) - started))
  if grep -q 'Non-2xx or 3xx responses' "$out" || grep -q 'Socket errors' "$out"; then
    cat "$out" >&2
    tail -n 20 "$LOGS/api.log" >&2 || true
    die "$name: wrk saw error responses or socket errors (above); a benchmark of errors is worthless"
  fi
  WRK_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  WRK_REQUESTS=$(awk '/requests in/ {print $1}' "$out")
  WRK_P50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  WRK_P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  [[ -n $WRK_RPS && -n $WRK_REQUESTS ]] || { cat "$out" >&2; die "cannot read wrk's output ($name)"; }
  local api_ticks_used
  api_ticks_used=$(($(api_ticks) - api_before))
  WRK_API_CPU=$(awk -v t="$api_ticks_used" -v hz="$CLOCK_TICKS" -v ns="$elapsed_ns" \
    'BEGIN {printf "%.0f", 100 * t / hz / (ns / 1e9)}')
  WRK_API_MS=$(awk -v t="$api_ticks_used" -v hz="$CLOCK_TICKS" -v n="$WRK_REQUESTS" \
    'BEGIN {printf "%.3f", n ? 1000 * t / hz / n : 0}')
  WRK_MACHINE_BUSY=$(echo "$machine_before $(machine_ticks)" |
    awk '{printf "%.0f", ($4 > $2 ? 100 * ($3 - $1) / ($4 - $2) : 0)}')
}

# run_pgbench NAME SECONDS SCRIPT CLIENTS THREADS — sets PGB_TPS, PGB_P50,
# PGB_P99, PGB_TRANSACTIONS.
run_pgbench() {
  local name=$1 seconds=$2 script=$3 clients=$4 threads=$5 out
  out=$LOGS/$name.pgbench.txt
  rm -f "$WORK/$name".log*
  PGOPTIONS=$PGBENCH_OPTIONS pgbench -n -M prepared -c "$clients" -j "$threads" \
    -T "$seconds" -f "$script" "${PGBENCH_VARS[@]}" -l --log-prefix="$WORK/$name.log" \
    "$APP_URL" >"$out" 2>&1 || { cat "$out" >&2; die "pgbench failed ($name)"; }
  local failed
  failed=$(awk '/^number of failed transactions:/ {print $5}' "$out")
  if [[ ${failed:-x} != 0 ]] || grep -q 'aborted' "$out"; then
    cat "$out" >&2
    die "$name: pgbench reports failed transactions (above)"
  fi
  PGB_TPS=$(awk '/^tps = / {print $3}' "$out")
  PGB_TRANSACTIONS=$(awk '/^number of transactions actually processed:/ {split($6, a, "/"); print a[1]}' "$out")
  # Per-transaction log: client, transaction, latency (us), script, epoch, us.
  cat "$WORK/$name".log* | awk '{print $3}' | sort -n >"$WORK/$name.latencies"
  local n
  n=$(wc -l <"$WORK/$name.latencies")
  PGB_P50=$(awk -v n="$n" 'NR == int(n * 0.50 + 0.5) {printf "%.2f", $1 / 1000}' "$WORK/$name.latencies")
  PGB_P99=$(awk -v n="$n" 'NR == int(n * 0.99 + 0.5) {printf "%.2f", $1 / 1000}' "$WORK/$name.latencies")
  rm -f "$WORK/$name".log* "$WORK/$name.latencies"
  [[ -n $PGB_TPS && -n $PGB_TRANSACTIONS ]] || { cat "$out" >&2; die "cannot read pgbench's output ($name)"; }
}

# The median of numbers (the lower middle one for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

ROUND_LINES=()
SUMMARY_LINES=()
POOL_LINES=()
PEER_LINES=()
WITH_PEER=0
SCENARIO_RPS=0 # the last scenario's median API req/s (its peak), for half_peak
LEAST_SCRIPT="" # set per scenario: its least-SQL pgbench script (BENCH_LEAST)

# Checks that each run did its work: one audit entry per request or
# transaction, plus at most one per client for those still in flight when
# the tool stopped counting (they finish and commit all the same).
AUDIT_COUNT=0
audit_mark() { AUDIT_COUNT=$(count_audit "$1"); }
audit_check() { # action what counted clients
  local now
  now=$(count_audit "$1")
  ((now - AUDIT_COUNT >= $3 && now - AUDIT_COUNT <= $3 + $4)) ||
    die "$2 counted $3 requests or transactions, but $((now - AUDIT_COUNT)) audit entries appeared"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# half_peak KEY TITLE PEAK_RPS: scenario A's reads again at about half of the
# peak the rounds measured, for latency at a load the API carries rather than
# at saturation: every wrk connection pauses CONNECTIONS / (PEAK / 2) seconds
# between requests (bench/get_child_paced.lua), so the rate lands a little
# under half (each request's own latency adds to the pause).
half_peak() {
  local key=$1 title=$2 peak=$3 pause
  pause=$(awk -v c="$CONNECTIONS" -v p="$peak" 'BEGIN {printf "%d", 1000 * c / (p / 2)}')
  su_sql -c CHECKPOINT
  audit_mark read
  run_wrk "$key-half" "$DURATION" bench/get_child_paced.lua "$WORK/ids" "$TOKEN" "$pause"
  audit_check read "$title at half of peak" "$WRK_REQUESTS" "$CONNECTIONS"
  SUMMARY_LINES+=("$(printf '   at half of peak (a %d ms pause per connection): %.1f req/s = %.0f %% of the peak, p50 %.2f ms, p99 %.2f ms' \
    "$pause" "$WRK_RPS" "$(awk -v a="$WRK_RPS" -v b="$peak" 'BEGIN {print 100 * a / b}')" "$WRK_P50" "$WRK_P99")")
  say "${SUMMARY_LINES[-1]}"
}

# scenario KEY TITLE LUA SCRIPT AUDIT_ACTION LUA_ARGS...
scenario() {
  local key=$1 title=$2 lua=$3 script=$4 action=$5
  shift 5
  local rps=() tps=() pool=() a50=() a99=() p50=() p99=() api_cpu=() round
  local peer=() peer50=() peer99=() peer_cpu=() baseline=() least=()
  say "$title: warming up (${WARMUP}s of each)"
  if ((WARMUP > 0)); then
    run_wrk "$key-warmup" "$WARMUP" "$lua" "$@"
    run_pgbench "$key-warmup" "$WARMUP" "$script" "$CONNECTIONS" "$PGBENCH_THREADS"
  fi
  for ((round = 1; round <= ROUNDS; round++)); do
    # A checkpoint before each run, so that no run pays for the dirty pages
    # of the one before.
    su_sql -c CHECKPOINT
    audit_mark "$action"
    run_wrk "$key-$round" "$DURATION" "$lua" "$@"
    audit_check "$action" "$title, round $round: wrk" "$WRK_REQUESTS" "$CONNECTIONS"

    su_sql -c CHECKPOINT
    audit_mark "$action"
    run_pgbench "$key-$round" "$DURATION" "$script" "$CONNECTIONS" "$PGBENCH_THREADS"
    audit_check "$action" "$title, round $round: pgbench" "$PGB_TRANSACTIONS" "$CONNECTIONS"
    rps+=("$WRK_RPS"); tps+=("$PGB_TPS"); api_cpu+=("$WRK_API_CPU")
    local same_tps=$PGB_TPS same_p50=$PGB_P50 same_p99=$PGB_P99
    a50+=("$WRK_P50"); a99+=("$WRK_P99"); p50+=("$PGB_P50"); p99+=("$PGB_P99")
    ROUND_LINES+=("$(printf '%-2s round %d: API %7.1f req/s (p50 %6.2f, p99 %6.2f ms; API CPU %3d%%, %.3f ms/req; machine busy %3d%%)  pgbench %7.1f tps (p50 %6.2f, p99 %6.2f ms)  ratio %s' \
      "$key" "$round" "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$WRK_API_CPU" "$WRK_API_MS" \
      "$WRK_MACHINE_BUSY" "$same_tps" "$same_p50" "$same_p99" "$(ratio "$WRK_RPS" "$same_tps")")")
    say "${ROUND_LINES[-1]}"

    if [[ -n $LEAST_SCRIPT ]]; then
      # The least SQL the job needs, in one round trip (the physical limit).
      su_sql -c CHECKPOINT
      audit_mark "$action"
      run_pgbench "$key-$round-least" "$DURATION" "$LEAST_SCRIPT" "$CONNECTIONS" "$PGBENCH_THREADS"
      audit_check "$action" "$title, round $round: pgbench, least SQL" "$PGB_TRANSACTIONS" "$CONNECTIONS"
      least+=("$PGB_TPS")
      ROUND_LINES+=("$(printf '%-2s round %d: pgbench, least SQL in one round trip %7.1f tps (p50 %6.2f, p99 %6.2f ms)  API/least %s' \
        "$key" "$round" "$PGB_TPS" "$PGB_P50" "$PGB_P99" "$(ratio "${rps[-1]}" "$PGB_TPS")")")
      say "${ROUND_LINES[-1]}"
    fi

    if [[ -n $BASELINE_API ]]; then
      # The baseline API, right after this one: interleaved A/B rounds.
      # Its own database, so its own token in the same place of the
      # arguments.
      local baseline_args=() argument
      for argument in "$@"; do
        if [[ $argument == "$TOKEN" ]]; then baseline_args+=("$BASELINE_TOKEN"); else baseline_args+=("$argument"); fi
      done
      su_sql -c CHECKPOINT
      AUDIT_DB=$BASELINE_DB
      audit_mark "$action"
      TARGET_URL=http://127.0.0.1:$BASELINE_PORT TARGET_PID=$BASELINE_PID
      run_wrk "$key-$round-baseline" "$DURATION" "$lua" "${baseline_args[@]}"
      TARGET_URL=$BASE_URL TARGET_PID=$API_PID
      audit_check "$action" "$title, round $round: baseline API" "$WRK_REQUESTS" "$CONNECTIONS"
      AUDIT_DB=$DB
      baseline+=("$WRK_RPS")
      ROUND_LINES+=("$(printf '%-2s round %d: baseline API %7.1f req/s (p50 %6.2f, p99 %6.2f ms; CPU %3d%%, %.3f ms/req)  API/baseline %s' \
        "$key" "$round" "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$WRK_API_CPU" "$WRK_API_MS" \
        "$(ratio "${rps[-1]}" "$WRK_RPS")")")
      say "${ROUND_LINES[-1]}"
    fi

    if ((WITH_PEER)); then
      # The Node peer: the same requests, statements and pool size.
      su_sql -c CHECKPOINT
      audit_mark "$action"
      TARGET_URL=http://127.0.0.1:$PEER_PORT TARGET_PID=$PEER_PID
      run_wrk "$key-$round-peer" "$DURATION" "$lua" "$@"
      TARGET_URL=$BASE_URL TARGET_PID=$API_PID
      audit_check "$action" "$title, round $round: Node peer" "$WRK_REQUESTS" "$CONNECTIONS"
      peer+=("$WRK_RPS"); peer50+=("$WRK_P50"); peer99+=("$WRK_P99"); peer_cpu+=("$WRK_API_CPU")
      ROUND_LINES+=("$(printf '%-2s round %d: Node peer %7.1f req/s (p50 %6.2f, p99 %6.2f ms; peer CPU %3d%%, %.3f ms/req)  API/peer %s' \
        "$key" "$round" "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$WRK_API_CPU" "$WRK_API_MS" \
        "$(ratio "${rps[-1]}" "$WRK_RPS")")")
      say "${ROUND_LINES[-1]}"
    fi

    if ((POOL_COMPARISON)); then
      # The same statements with as many pgbench clients as the API has
      # database connections: what the API could do with no HTTP cost at
      # its own database concurrency.
      su_sql -c CHECKPOINT
      audit_mark "$action"
      run_pgbench "$key-$round-c$DB_CONNECTIONS" "$DURATION" "$script" "$DB_CONNECTIONS" 1
      audit_check "$action" "$title, round $round: pgbench -c$DB_CONNECTIONS" "$PGB_TRANSACTIONS" "$DB_CONNECTIONS"
      pool+=("$PGB_TPS")
      ROUND_LINES+=("$(printf '%-2s round %d: pgbench -c%d: %7.1f tps (p50 %6.2f, p99 %6.2f ms)' \
        "$key" "$round" "$DB_CONNECTIONS" "$PGB_TPS" "$PGB_P50" "$PGB_P99")")
      say "${ROUND_LINES[-1]}"
    fi
  done
  local m_rps m_tps m_pool
  m_rps=$(median "${rps[@]}")
  m_tps=$(median "${tps[@]}")
  SCENARIO_RPS=$m_rps
  SUMMARY_LINES+=("$(printf '%-29s %10.1f %12.1f %6s %8.2f %8.2f %8.2f %8.2f %8s' "$title" \
    "$m_rps" "$m_tps" "$(ratio "$m_rps" "$m_tps")" \
    "$(median "${a50[@]}")" "$(median "${a99[@]}")" "$(median "${p50[@]}")" "$(median "${p99[@]}")" \
    "$(median "${api_cpu[@]}")%")")
  if [[ -n $LEAST_SCRIPT ]]; then
    SUMMARY_LINES+=("$(printf '   least SQL in one round trip (%s): median %.1f tps, API/least %s' \
      "$LEAST_SCRIPT" "$(median "${least[@]}")" "$(ratio "$m_rps" "$(median "${least[@]}")")")")
  fi
  if [[ -n $BASELINE_API ]]; then
    SUMMARY_LINES+=("$(printf '   baseline API: median %.1f req/s, API/baseline %s' \
      "$(median "${baseline[@]}")" "$(ratio "$m_rps" "$(median "${baseline[@]}")")")")
  fi
  if ((WITH_PEER)); then
    PEER_LINES+=("$(printf '%-29s %10.1f %12.1f %6s %8.2f %8.2f %8s' "$title" "$m_rps" \
      "$(median "${peer[@]}")" "$(ratio "$m_rps" "$(median "${peer[@]}")")" \
      "$(median "${peer50[@]}")" "$(median "${peer99[@]}")" "$(median "${peer_cpu[@]}")%")")
  fi
  if ((POOL_COMPARISON)); then
    m_pool=$(median "${pool[@]}")
    POOL_LINES+=("$(printf '%-29s %10.1f %12.1f %6s' "$title" "$m_rps" "$m_pool" \
      "$(ratio "$m_rps" "$m_pool")")")
  fi
}

STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

WITH_PEER=$PEER
LEAST_SCRIPT=$( ((LEAST)) && echo bench/get_child_least.sql)
scenario A "A  GET /v1/children/{id}" bench/get_child.lua bench/get_child.sql read \
  "$WORK/ids" "$TOKEN"
half_peak A "A  GET /v1/children/{id}" "$SCENARIO_RPS"
WITH_PEER=0
LEAST_SCRIPT=$( ((LEAST)) && echo bench/put_child_least.sql)
scenario B "B  PUT /v1/children/{id} (new)" bench/put_child.lua bench/put_child.sql create \
  "$TOKEN" "$DOCUMENT"

start_worker() {
  set -m
  DATABASE_URL=$APP_URL build/baove-worker 2>>"$LOGS/worker.log" &
  WORKER_PID=$!
  set +m
  sleep 1
  kill -0 "$WORKER_PID" 2>/dev/null || { tail -n 20 "$LOGS/worker.log" >&2; die "baove-worker did not start"; }
}
# The baseline's database lives too: its own worker, for the lived-in phase.
start_baseline_worker() {
  set -m
  DATABASE_URL=$BASELINE_APP_URL "$BASELINE_DIR/build/baove-worker" 2>>"$LOGS/baseline-worker.log" &
  BASELINE_WORKER_PID=$!
  set +m
}
stop_worker() { # SIGTERM lets a running job finish (BAOVE_WORKER_STOP_GRACE_SECONDS)
  kill -TERM "$WORKER_PID" 2>/dev/null && wait "$WORKER_PID" 2>/dev/null || true
  WORKER_PID=""
}

# W: creates with the worker stopped, then running, round by round.
worker_pairs() {
  local round off=() on=() pairs=() state
  say "W  PUT, worker stopped / running: warming up (${WARMUP}s)"
  ((WARMUP > 0)) && run_wrk W-warmup "$WARMUP" bench/put_child.lua "$TOKEN" "$DOCUMENT"
  for ((round = 1; round <= ROUNDS; round++)); do
    for state in stopped running; do
      if [[ $state == stopped ]]; then stop_worker; else start_worker; fi
      su_sql -c CHECKPOINT
      audit_mark create
      run_wrk "W-$round-$state" "$DURATION" bench/put_child.lua "$TOKEN" "$DOCUMENT"
      audit_check create "W, round $round, worker $state: wrk" "$WRK_REQUESTS" "$CONNECTIONS"
      if [[ $state == stopped ]]; then off+=("$WRK_RPS"); else on+=("$WRK_RPS"); fi
      ROUND_LINES+=("$(printf 'W  round %d: worker %-8s API %7.1f req/s (p50 %6.2f, p99 %6.2f ms; machine busy %3d%%)' \
        "$round" "$state" "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$WRK_MACHINE_BUSY")")
      say "${ROUND_LINES[-1]}"
    done
    pairs+=("$(ratio "${on[-1]}" "${off[-1]}")")
    ROUND_LINES+=("$(printf 'W  round %d: running / stopped %s' "$round" "${pairs[-1]}")")
    say "${ROUND_LINES[-1]}"
  done
  WORKER_LINE=$(printf 'W  PUT creates, lived in: worker stopped %.1f req/s, running %.1f req/s (medians); running / stopped, median of the rounds: %s; rollups so far: %s' \
    "$(median "${off[@]}")" "$(median "${on[@]}")" "$(median "${pairs[@]}")" \
    "$(su_sql -c "SELECT count(*) || ', ' || coalesce(round(sum(extract(epoch FROM finished_at - started_at)))::text, '0')
                         || ' s of a core in all' FROM jobs
                   WHERE kind = 'rollup_indicators' AND status = 'succeeded'")")
}
WORKER_LINE=""

if ((LIVED_IN)); then
  # A database that has lived: B's creates have grown children, an ANALYZE
  # has run over it (autovacuum does one as the registry grows; it is what
  # once turned child_document's plans custom in every pooled session), and
  # the worker runs beside the API at its default log level, rolling up
  # indicators after bursts of writes, as in production.
  say "lived in: ANALYZE, then baove-worker running"
  su_sql -c ANALYZE
  start_worker
  if [[ -n $BASELINE_DIR ]]; then
    bash scripts/pg.sh psql "$BASELINE_DB" -q -v ON_ERROR_STOP=1 -c ANALYZE
    start_baseline_worker
  fi
  WITH_PEER=$PEER
  LEAST_SCRIPT=$( ((LEAST)) && echo bench/get_child_least.sql)
  scenario A2 "A2 GET, lived in" bench/get_child.lua bench/get_child.sql read "$WORK/ids" "$TOKEN"
  half_peak A2 "A2 GET, lived in" "$SCENARIO_RPS"
  WITH_PEER=0
  LEAST_SCRIPT=$( ((LEAST)) && echo bench/put_child_least.sql)
  scenario B2 "B2 PUT (new), lived in" bench/put_child.lua bench/put_child.sql create \
    "$TOKEN" "$DOCUMENT"
  ((WORKER_PAIRS)) && worker_pairs
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# The pool opens connections on first use and keeps them: with at least as
# many wrk connections as pool slots, all of them should be open by now, and
# never more.
API_BACKENDS=$(su_sql -c "SELECT count(*) FROM pg_stat_activity
                            WHERE application_name = 'baove-api' AND datname = '$DB'")
((API_BACKENDS <= DB_CONNECTIONS)) ||
  die "the API holds $API_BACKENDS database connections with BAOVE_DB_CONNECTIONS=$DB_CONNECTIONS"

# ---- the report ----------------------------------------------------------------

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  commit+=" (with uncommitted changes)"
fi
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
{
  echo "Baove benchmark (bench/run.sh), $STARTED, commit $commit"
  echo "Machine: $(nproc) cores ($cpu), $(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr)"
  echo "Load average at the start: $LOAD_AT_START; at the end: $LOAD_AFTER (wrk, pgbench, the API and PostgreSQL share the cores)"
  if awk -v l="${LOAD_AT_START%% *}" 'BEGIN {exit !(l >= 1)}'; then
    echo "WARNING: the machine was busy when the benchmark started (load ${LOAD_AT_START%% *}): other processes competed for the cores"
  fi
  echo "PostgreSQL $(su_sql -c 'SHOW server_version' | cut -d' ' -f1), scripts/pg.sh cluster (shared_buffers $(su_sql -c 'SHOW shared_buffers'), synchronous_commit $(su_sql -c 'SHOW synchronous_commit')); $CHILDREN demo children"
  echo "API: build/ (RelWithDebInfo), one epoll thread for the sockets and a pool of request threads as large as BAOVE_DB_CONNECTIONS=$DB_CONNECTIONS ($API_BACKENDS open at the end), BAOVE_LOG_LEVEL=warn; token of demo_district (district scope)"
  [[ -z $BASELINE_DIR ]] ||
    echo "Baseline: $BASELINE_DIR (commit $(git -C "$BASELINE_DIR" rev-parse --short HEAD 2>/dev/null || echo '?')), its build/ on its own database $BASELINE_DB (its migrations, functions and seed)"
  echo "wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --latency; pgbench -M prepared -c$CONNECTIONS -j$PGBENCH_THREADS -T$DURATION as baove_app over the unix socket"
  echo "$ROUNDS round(s) per scenario after a ${WARMUP}s warm-up; a round is wrk, then pgbench$( ((POOL_COMPARISON)) && echo ", then pgbench -c$DB_CONNECTIONS"); medians of the rounds"
  echo
  printf '%-29s %10s %12s %6s %8s %8s %8s %8s %8s\n' "scenario" "API req/s" "pgbench tps" "ratio" \
    "API p50" "API p99" "pgb p50" "pgb p99" "API CPU"
  printf '%s\n' "${SUMMARY_LINES[@]}"
  echo "(ratio = API req/s / pgbench tps, target >= 0.80; latencies in ms; API CPU: the API process's"
  echo " CPU time during the wrk run, all threads, in % of one core; the machine has $(nproc) x 100%)"
  [[ -n $WORKER_LINE ]] && { echo; echo "$WORKER_LINE"; }
  if ((${#PEER_LINES[@]})); then
    echo
    echo "Against the Node peer (bench/peer/: node:http + pg, same statements, pool of $DB_CONNECTIONS):"
    printf '%-29s %10s %12s %6s %8s %8s %8s\n' "scenario" "API req/s" "peer req/s" "ratio" \
      "peer p50" "peer p99" "peer CPU"
    printf '%s\n' "${PEER_LINES[@]}"
  fi
  if ((POOL_COMPARISON)); then
    echo
    echo "At the API's database concurrency (pgbench -c$DB_CONNECTIONS = BAOVE_DB_CONNECTIONS):"
    printf '%-29s %10s %12s %6s\n' "scenario" "API req/s" "pgbench tps" "ratio"
    printf '%s\n' "${POOL_LINES[@]}"
  fi
  echo
  printf '%s\n' "${ROUND_LINES[@]}"
} | tee "$RESULTS"
say "written to $RESULTS (raw wrk and pgbench outputs in $LOGS)"
