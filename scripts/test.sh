#!/usr/bin/env bash
# test.sh (make test, and CI through .ci/run): build everything and run the
# whole test suite against a throwaway PostgreSQL cluster.
#
#  1. scripts/deps.sh
#  2. build/      (gcc, RelWithDebInfo)          - unit tests + baove-admin for setup
#     build-asan/ (clang, ASan+UBSan, Debug)     - unit, integration, contract tests
#  3. npm ci in tests/contract when its lockfile changed or node_modules is missing
#  4. test cluster: BAOVE_PG_DIR=<repo>/var/test-pg, port $BAOVE_TEST_PG_PORT
#     (default 54339), fresh database baove_test
#  5. baove-admin migrate + seed
#  6. ctest: build -L unit, then build-asan (everything, -j1)
#  7. the test cluster is stopped on exit, whatever happened
#
# Exits non-zero if anything failed.  The last line printed is always
# "N passed, N failed" (ctest results of both runs added up), which CI reads.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

say() { echo "test.sh: $*" >&2; }

PASSED=0
FAILED=0
CLUSTER_STARTED=0
LOG_DIR=$REPO_ROOT/var/test-logs

# On any exit: stop the test cluster first (its messages go to stderr), then
# print the summary so that it really is the last line.
# shellcheck disable=SC2317  # invoked from traps
finish() {
  local rc=$?
  trap - EXIT INT TERM
  if ((CLUSTER_STARTED)); then
    if [[ -n ${CI:-} ]]; then
      # CI runs in a fresh clone every time: do not leave one dead cluster per
      # run behind (it may live in /var/tmp, see pg.sh).
      bash scripts/pg.sh destroy || true
    else
      bash scripts/pg.sh stop || true
    fi
  fi
  echo "$PASSED passed, $FAILED failed"
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. dependencies ---------------------------------------------------------
bash scripts/deps.sh

# --- 2. builds ---------------------------------------------------------------
# CC only matters on the first configure of build/ (same as run.sh and
# `make build`), so switching between them never forces a full reconfigure.
say "building build/ (gcc, RelWithDebInfo)"
CC=gcc cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2
say "building build-asan/ (clang, sanitizers, Debug)"
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DBAOVE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build build-asan -j2

# --- 3. contract-test tools --------------------------------------------------
# `npm ci` wipes and reinstalls node_modules, so only run it when the lockfile
# or package.json changed since the last install (recorded in a stamp file).
contract=tests/contract
if [[ -f $contract/package-lock.json ]]; then
  stamp=$contract/node_modules/.baove-npm-ci.sha256
  want=$(cat "$contract/package.json" "$contract/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [[ ! -d $contract/node_modules || ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    say "installing contract-test tools (npm ci in $contract)"
    (cd "$contract" && npm ci --no-audit --no-fund --prefer-offline)
    echo "$want" >"$stamp"
  fi
fi

# --- 4. throwaway test cluster ------------------------------------------------
# A cluster of its own (own dir and port) so that tests never touch the
# developer's `make run` data, and can stop/start it at will.
export BAOVE_PG_DIR=$REPO_ROOT/var/test-pg
export BAOVE_PG_PORT=${BAOVE_TEST_PG_PORT:-54339}
export BAOVE_PG_DB=baove_test
export BAOVE_TEST_PG_CTL=$REPO_ROOT/scripts/pg.sh
CLUSTER_STARTED=1
bash scripts/pg.sh start
bash scripts/pg.sh recreatedb "$BAOVE_PG_DB"
DATABASE_URL=$(bash scripts/pg.sh url "$BAOVE_PG_DB")
BAOVE_ADMIN_DATABASE_URL=$(bash scripts/pg.sh admin-url "$BAOVE_PG_DB")
export DATABASE_URL BAOVE_ADMIN_DATABASE_URL

# --- 5. schema and reference data -------------------------------------------
build/baove-admin migrate
build/baove-admin seed

# --- 6. tests ----------------------------------------------------------------
mkdir -p "$LOG_DIR"

# run_ctest LOG ARGS...: run ctest, keep its output in LOG, add its
# "X% tests passed, Y tests failed out of Z" counts to PASSED/FAILED.
run_ctest() {
  local log=$1 rc line failed total
  shift
  set +e
  ctest "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=${BASH_REMATCH[1]}
    total=${BASH_REMATCH[2]}
    PASSED=$((PASSED + total - failed))
    FAILED=$((FAILED + failed))
  fi
  return "$rc"
}

# A default per-test timeout for tests that do not set their own, so that a
# hung test fails instead of eating CI's time budget.
timeout=${BAOVE_TEST_TIMEOUT:-600}
status=0

say "unit tests (build/)"
run_ctest "$LOG_DIR/ctest-unit.log" --test-dir build -L unit --output-on-failure \
  --timeout "$timeout" || status=1

say "all tests under sanitizers (build-asan/)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if [[ -f tests/lsan.supp ]]; then
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$REPO_ROOT/tests/lsan.supp}
fi
# --no-tests=error: the full suite finding no test at all is a failure, not a pass.
run_ctest "$LOG_DIR/ctest-asan.log" --test-dir build-asan --output-on-failure -j1 \
  --no-tests=error --timeout "$timeout" || status=1

if ((status != 0)); then
  say "FAILED (logs: $LOG_DIR)"
fi
exit "$status"
