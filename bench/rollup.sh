#!/usr/bin/env bash
# bench/rollup.sh: one full indicator rollup against the hand-written SQL
# aggregate computing the same figures (the limit).  Not part of `make test`.
#
# The rollup is the job function itself, rollup_indicators('{}', now), as the
# worker runs it: every unit valid in 2020 (10 000 demo communes, the real
# ones, the district, the province) × every period (2020, 2020S1 and the two
# report cut-offs), its JSON items, targets and statuses, the comparison with
# the latest snapshots and the writes.  The yardstick is bench/rollup.sql: one
# SELECT of the same figures, rolled up the same tree, writing nothing.  Both
# run as the owner role (the rollup is SECURITY DEFINER: it runs as the owner
# whoever calls it), in the same run, on the same data.  Each round times:
#   aggregate   bench/rollup.sql
#   fresh       the rollup with no snapshots yet (every snapshot written)
#   unchanged   the rollup again: nothing changed, nothing but the run's checked_at written
# Medians over the rounds are printed with the ratios rollup / aggregate; the
# target is fresh <= 1.5 x aggregate and under 30 s on 2 cores.  The rollup's
# totals are checked against the aggregate's (a mismatch fails the run).
#
# Steps: build build/ (RelWithDebInfo, as `make run`); a dedicated cluster
# (BENCH_PG_DIR, default var/bench-pg, port 54349, as bench/run.sh); database
# baove_rollup_bench, migrated and seeded with the reference data, then
# `baove-admin seed --demo --children N --communes M` unless it already holds
# N demo children (the seed is deterministic and takes ~90 s for a million);
# ANALYZE; then the rounds.  The cluster is stopped on exit.
#
# Settings (environment):
#   BENCH_CHILDREN   demo children           (1000000)
#   BENCH_COMMUNES   demo communes           (10000)
#   BENCH_ROUNDS     measured rounds         (3)
#   BENCH_NOW        the rollup's "now"      (2021-01-15T09:00:00+07:00: every 2020 period ended)
#   BENCH_PG_DIR / BENCH_PG_PORT             (var/bench-pg / 54349)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

say() { echo "bench-rollup: $*" >&2; }
die() { echo "bench-rollup: FAILED: $*" >&2; exit 1; }

CHILDREN=${BENCH_CHILDREN:-1000000}
COMMUNES=${BENCH_COMMUNES:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
NOW=${BENCH_NOW:-2021-01-15T09:00:00+07:00}
for setting in CHILDREN COMMUNES ROUNDS; do
  [[ ${!setting} =~ ^[0-9]+$ ]] || die "BENCH_$setting must be a whole number, got '${!setting}'"
done
((CHILDREN >= 1 && ROUNDS >= 1)) || die "BENCH_CHILDREN and BENCH_ROUNDS must be at least 1"

export BAOVE_PG_DIR=${BENCH_PG_DIR:-$REPO_ROOT/var/bench-pg}
export BAOVE_PG_PORT=${BENCH_PG_PORT:-54349}
# WAL archiving (docs/backups.md) off unless asked for: figures comparable across runs.
export BAOVE_PG_ARCHIVE=${BAOVE_PG_ARCHIVE:-off}
DB=baove_rollup_bench
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE PGSERVICE \
      PGSERVICEFILE PGOPTIONS PGSSLMODE PGCONNECT_TIMEOUT BAOVE_NOW DATABASE_URL || true

say "building build/ (RelWithDebInfo)"
CC=gcc cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target baove-admin >/dev/null

bash scripts/pg.sh start >&2
trap 'bash scripts/pg.sh stop >&2 || true' EXIT
bash scripts/pg.sh recreatedb "$DB" >&2 2>/dev/null || true
URL=$(bash scripts/pg.sh admin-url "$DB")
export BAOVE_ADMIN_DATABASE_URL=$URL BAOVE_SQL_DIR=$REPO_ROOT/sql
build/baove-admin migrate >&2
build/baove-admin seed >&2

sql() { psql "$URL" -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }

HAVE=$(sql -c "SELECT count(*) FROM children")
if ((HAVE < CHILDREN)); then
  say "seeding $CHILDREN demo children over $COMMUNES communes (about 90 s per million)"
  build/baove-admin seed --demo --children "$CHILDREN" --communes "$COMMUNES" >&2
fi
sql -c "ANALYZE units, children, child_circumstances, child_supports, child_risks, cases,
                case_history, case_deadlines" >/dev/null
UNITS=$(sql -c "SELECT count(*) FROM units WHERE valid_from <= '2020-12-31'
                  AND (valid_to IS NULL OR valid_to >= '2020-12-31')")
say "$(sql -c "SELECT count(*) FROM children") children, $UNITS units valid at the end of 2020"

# Seconds (3 decimals) that a psql invocation takes.
timed() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  echo "scale=3; ($end - $start) / 1000000000" | bc
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Without JIT, as the rollup runs (its function sets jit = off): compiling
# costs the yardstick about a second too.
aggregate() { sql -v now="$NOW" -c "SET jit = off" -f bench/rollup.sql; }
rollup() { sql -v now="$NOW" <<< "SELECT rollup_indicators('{}', :'now')"; }
forget() { sql -c "TRUNCATE indicator_checks, indicator_runs, indicator_snapshots"; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "load average at the start: $LOAD_START"
say "warm-up (unmeasured): the aggregate once"
aggregate >/dev/null
AGGREGATE=() FRESH=() UNCHANGED=()
for round in $(seq 1 "$ROUNDS"); do
  AGGREGATE+=("$(timed aggregate)")
  forget
  FRESH+=("$(timed rollup)")
  UNCHANGED+=("$(timed rollup)")
  say "round $round: aggregate ${AGGREGATE[-1]} s, fresh rollup ${FRESH[-1]} s, unchanged ${UNCHANGED[-1]} s"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# The rollup's totals over the latest snapshots against the aggregate's.
EXPECTED=$(aggregate)
ACTUAL=$(sql -c "
  WITH latest AS (SELECT DISTINCT ON (s.unit_id, s.period) s.* FROM indicator_snapshots s
                   ORDER BY s.unit_id, s.period, s.computed_at DESC)
  SELECT concat_ws('|', count(*), sum(figures[1]), sum(figures[2]), sum(figures[3]),
                   sum(figures[4]),
                   (SELECT coalesce(sum(b.value::bigint), 0) FROM latest l, jsonb_each_text(l.breakdown) b
                     WHERE b.key LIKE 'csc_group:%'),
                   sum(figures[6]), sum(figures[8]), sum(figures[5]), sum(figures[14]),
                   sum(figures[16]))
    FROM latest")
[[ "$EXPECTED" == "$ACTUAL" ]] || die "the rollup's totals $ACTUAL differ from the aggregate's $EXPECTED"

A=$(median "${AGGREGATE[@]}") F=$(median "${FRESH[@]}") U=$(median "${UNCHANGED[@]}")
cat <<EOF
rollup benchmark: $CHILDREN children, $UNITS units, $(sql -c "SELECT count(*) FROM indicator_periods()") periods, now $NOW, $ROUNDS round(s), medians
  snapshots (units x periods): ${ACTUAL%%|*}; totals (snapshots|children|csc|supported|at risk|group memberships|opened|open|abused|fund target|raised) agree: $ACTUAL
  hand-written aggregate (the limit)   $A s
  rollup, fresh (all written)          $F s   ratio $(echo "scale=2; $F / $A" | bc)
  rollup, unchanged (checked only)     $U s   ratio $(echo "scale=2; $U / $A" | bc)
  load average: start $LOAD_START, end $LOAD_END ($(nproc) cores)
EOF
