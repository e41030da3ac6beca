#!/usr/bin/env bash
# `make run` stops as a whole when its process group gets SIGTERM (systemd,
# `timeout`, CI) or SIGINT (Ctrl-C): API, worker and the embedded cluster,
# nothing left behind; and while it runs, baove-admin finds its cluster with
# no URL and no port set (only BAOVE_PG_DIR, since the default var/pg is the
# developer's own cluster).
#
# A cluster of its own in a temporary directory, on free ports; the build/
# of the source tree (run.sh builds it, a no-op after test.sh).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/baove-run-XXXXXX)
export BAOVE_PG_DIR=$WORK/pg
# What test.sh exports must not leak into `make run`: it would use that
# database (and leave the cluster alone) instead of starting its own.
unset DATABASE_URL BAOVE_ADMIN_DATABASE_URL BAOVE_PG_DB BAOVE_PG_PORT BAOVE_NOW

fail() { echo "run_signals: FAIL: $*" >&2; exit 1; }

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

# What a failed check would leave running: make run's group, and the API and
# the worker (each in a process group of its own).  Ours alone, by id.
RUN_GROUP=""
RUN_PIDS=()
cleanup() {
  local pid
  if [[ -n $RUN_GROUP ]] && kill -0 -- "-$RUN_GROUP" 2>/dev/null; then
    kill -TERM -- "-$RUN_GROUP" 2>/dev/null || true
    sleep 5
    kill -KILL -- "-$RUN_GROUP" 2>/dev/null || true
  fi
  for pid in "${RUN_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  bash "$REPO_ROOT/scripts/pg.sh" destroy >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# run_once SIGNAL [again]: starts `make run` in a process group of its own,
# waits for the API, checks baove-admin without URL, sends SIGNAL to the
# whole group (with "again", once more while it is stopping, as an impatient
# operator or a supervisor would) and checks that everything stopped.
run_once() {
  local signal=$1 again=${2:-} pg_port http_port
  local log=$WORK/run-$signal$again.log
  pg_port=$(free_port)
  http_port=$(free_port)
  # Job control: the job is a process group of its own (its leader's pid),
  # and, unlike a plain background command, does not start with SIGINT
  # ignored, so it meets Ctrl-C as it would in a terminal.
  set -m
  BAOVE_HTTP_PORT=$http_port BAOVE_PG_PORT=$pg_port make -C "$REPO_ROOT" run >"$log" 2>&1 &
  local group=$!
  RUN_GROUP=$group
  set +m
  local up=0 i
  for ((i = 0; i < 600; i++)); do
    # The banner comes once run.sh has seen the API answer.
    if grep -q "^Ctrl-C stops" "$log" &&
      curl -s -o /dev/null "http://127.0.0.1:$http_port/healthz"; then
      up=1
      break
    fi
    kill -0 "$group" 2>/dev/null || break
    sleep 0.5
  done
  ((up)) || { tail -n 40 "$log" >&2; fail "make run did not serve the API ($signal)"; }
  local api_pid worker_pid
  api_pid=$(sed -n 's/.*API http[^ ]* (pid \([0-9]*\)).*/\1/p' "$log" | tail -n 1)
  worker_pid=$(sed -n 's/.*worker pid \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  [[ -n $api_pid && -n $worker_pid ]] || fail "no pids in the banner"
  RUN_PIDS=("$api_pid" "$worker_pid")

  # The operator's commands, with neither a URL nor a port.
  local keys
  "$REPO_ROOT/build/baove-admin" apikey issue --client "ci-$signal$again" --role sync_client \
    --unit 82 --ttl 1d >/dev/null || fail "apikey issue without DATABASE_URL"
  keys=$("$REPO_ROOT/build/baove-admin" apikey list) || fail "apikey list without DATABASE_URL"
  grep -q "^ci-$signal$again	sync_client	82	" <<<"$keys" || fail "the new key is not listed: $keys"
  bash "$REPO_ROOT/scripts/pg.sh" status 2>&1 | grep -q "port $pg_port," \
    || fail "pg.sh status does not report port $pg_port"

  kill "-$signal" -- "-$group"
  if [[ -n $again ]]; then
    for ((i = 0; i < 120; i++)); do
      grep -q "stopping api/worker" "$log" && break
      sleep 0.25
    done
    kill "-$signal" -- "-$group" 2>/dev/null || true
  fi
  # Every process of the group, not only make: run.sh outlives make when
  # make dies of a second signal, and must still finish its stopping.
  for ((i = 0; i < 120; i++)); do
    kill -0 -- "-$group" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 -- "-$group" 2>/dev/null && fail "make run's group still running 60 s after SIG$signal"
  wait "$group" || true
  for pid in "$api_pid" "$worker_pid"; do
    kill -0 "$pid" 2>/dev/null && fail "pid $pid outlived SIG$signal"
  done
  if bash "$REPO_ROOT/scripts/pg.sh" status 2>/dev/null; then
    fail "the embedded cluster outlived SIG$signal"
  fi
  grep -q "stopping PostgreSQL" "$log" || fail "run.sh did not stop the cluster"
  # All stopped: nothing for cleanup to kill (those ids may be reused).
  RUN_GROUP=""
  RUN_PIDS=()
  echo "run_signals: SIG$signal stopped API $api_pid, worker $worker_pid and the cluster" >&2
}

run_once TERM
run_once INT
run_once TERM again
echo "run_signals: ok" >&2
