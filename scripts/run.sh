#!/usr/bin/env bash
# run.sh (make run): build Baove and run the API + worker locally.
#
# - Database: if DATABASE_URL is unset, the embedded cluster (scripts/pg.sh,
#   <repo>/var/pg, reused across runs) is started and DATABASE_URL /
#   BAOVE_ADMIN_DATABASE_URL point at it; it is stopped again when run.sh exits
#   (even if it was already running before: simple and predictable).
#   If DATABASE_URL is set, that database is used and left alone: migrated
#   and seeded with the reference data, but given no demo users or demo
#   records unless BAOVE_DEMO=1 (demo users have a public password);
#   BAOVE_ADMIN_DATABASE_URL defaults to DATABASE_URL.
# - One `make run` per checkout at a time (var/run.lock): a second one would
#   build over the first's binaries and stop its cluster when it gave up.
# - Runs `baove-admin migrate` and `baove-admin seed --demo` (both re-runnable),
#   makes var/secrets.key unless BAOVE_SECRETS_KEY_FILE names a key, seals
#   the webhook secrets stored unsealed (`baove-admin secrets seal`), then
#   starts build/baove-worker and build/baove-api in the background.
# - Ctrl-C / SIGTERM (to run.sh or to the whole process group of `make run`,
#   as systemd, `timeout` and CI send it) stops api and worker (SIGTERM, then
#   SIGKILL after a grace period) and then the embedded cluster; signals that
#   arrive while stopping are ignored (tests/integration/run_signals.sh).  If either child exits on its own,
#   the other is stopped and run.sh exits non-zero.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

say() { echo "run.sh: $*" >&2; }

mkdir -p "$REPO_ROOT/var"
exec 9>"$REPO_ROOT/var/run.lock"
flock -n 9 || { say "another make run is using this checkout (var/run.lock); stop it first"; exit 1; }

# A URL as it may be shown: its password hidden.
shown_url() {
  sed -E 's#(://[^:/@]*:)[^@/]*@#\1***@#; s#(password=)[^& ]*#\1***#g' <<<"$1"
}

bash scripts/deps.sh

# Build build/ the same way test.sh and `make build` do.  CC only matters on the
# first configure, so an existing build/ is never reconfigured from scratch.
CC=gcc cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2

EMBEDDED=0
API_PID=""
WORKER_PID=""
CLEANED=0

# Stop the children (SIGTERM, wait up to 15 s, then SIGKILL), then the
# embedded cluster.  Safe to call more than once (signal trap + EXIT trap).
# shellcheck disable=SC2317  # invoked from traps
cleanup() {
  ((CLEANED)) && return 0
  CLEANED=1
  # Stopping is not interrupted: a second Ctrl-C, make forwarding the
  # group's SIGTERM once more, or a supervisor repeating it would otherwise
  # run the trap again, whose `exit` left api, worker or the cluster
  # running.  Ignored signals stay ignored in what we start from here
  # (pg.sh stop, pg_ctl), which are in our process group too.
  trap '' INT TERM
  local pid pids=() i
  for pid in "$API_PID" "$WORKER_PID"; do
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && pids+=("$pid")
  done
  if ((${#pids[@]})); then
    say "stopping api/worker (pids ${pids[*]})"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      local alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      ((alive)) || break
      sleep 0.1
    done
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then
        say "pid $pid did not stop after 15 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      wait "$pid" 2>/dev/null || true
    done
  fi
  if ((EMBEDDED)); then
    bash scripts/pg.sh stop || true
  fi
}
trap cleanup EXIT
# The children run in their own process groups (see set -m below): Ctrl-C
# reaches only us, and we forward SIGTERM ourselves.
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

if [[ -z ${DATABASE_URL:-} ]]; then
  EMBEDDED=1
  bash scripts/pg.sh start 9>&-
  DATABASE_URL=$(bash scripts/pg.sh url)
  BAOVE_ADMIN_DATABASE_URL=$(bash scripts/pg.sh admin-url)
else
  BAOVE_ADMIN_DATABASE_URL=${BAOVE_ADMIN_DATABASE_URL:-$DATABASE_URL}
fi
export DATABASE_URL BAOVE_ADMIN_DATABASE_URL

build/baove-admin migrate
DEMO=0
if ((EMBEDDED)) || [[ ${BAOVE_DEMO:-0} == 1 ]]; then
  DEMO=1
  build/baove-admin seed --demo
else
  build/baove-admin seed
  say "DATABASE_URL is set: no demo users or records were added (BAOVE_DEMO=1 adds them)"
fi

# The key webhook secrets are sealed with (common/webhook.h): the operator's
# (BAOVE_SECRETS_KEY_FILE), or one made here once and kept under var/ (0600)
# beside the embedded cluster.  A key lost is every channel's secret lost:
# back it up with the database, but not in the same place.
if [[ -z ${BAOVE_SECRETS_KEY_FILE:-} ]]; then
  BAOVE_SECRETS_KEY_FILE=$REPO_ROOT/var/secrets.key
  if [[ ! -s $BAOVE_SECRETS_KEY_FILE ]]; then
    mkdir -p "$REPO_ROOT/var"
    (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$BAOVE_SECRETS_KEY_FILE")
    say "made the key that seals webhook secrets: $BAOVE_SECRETS_KEY_FILE"
  fi
fi
export BAOVE_SECRETS_KEY_FILE
build/baove-admin secrets seal

# set -m puts each child in its own process group, so a terminal Ctrl-C (sent
# to the whole foreground group) reaches only this script, whose INT trap then
# stops the children in order.  Without it the children would get SIGINT too,
# exit on their own, and bash (which then assumes the child "handled" the
# interrupt) would never run the INT trap.
set -m
# Within the 15 s this script waits before SIGKILL, so a running job is
# finished or handed back.
BAOVE_WORKER_STOP_GRACE_SECONDS=${BAOVE_WORKER_STOP_GRACE_SECONDS:-10} build/baove-worker 9>&- &
WORKER_PID=$!
build/baove-api 9>&- &
API_PID=$!
set +m

# Where to reach the API from this machine (a wildcard bind is reachable on
# loopback; IPv6 literals need brackets in URLs).
http_host=${BAOVE_HTTP_ADDR:-127.0.0.1}
case $http_host in
  0.0.0.0 | "") http_host=127.0.0.1 ;;
  ::) http_host='[::1]' ;;
  *:*) http_host="[$http_host]" ;;
esac
base_url="http://$http_host:${BAOVE_HTTP_PORT:-8080}"

# Wait (up to 10 s) for the API to accept connections so that the banner below
# is true when it is printed; give up early if the API died.
if command -v curl >/dev/null 2>&1; then
  for ((i = 0; i < 100; i++)); do
    kill -0 "$API_PID" 2>/dev/null || break
    curl -s -o /dev/null --max-time 1 "$base_url/healthz" && break
    sleep 0.1
  done
fi

stops="the API and the worker"
((EMBEDDED)) && stops+=" and the embedded PostgreSQL"
# baove-admin finds the embedded cluster by itself; another database needs its URL.
admin_env=""
((EMBEDDED)) || admin_env="(with this DATABASE_URL and BAOVE_ADMIN_DATABASE_URL) "
backups=""
((EMBEDDED)) && backups="
WAL is archived with pgBackRest (scripts/pg.sh backups: what is kept); scripts/pg.sh backup
takes a backup, scripts/pg.sh restore --to TIME DIR PORT a point-in-time copy (docs/backups.md)."
demo_users="Demo users (password baove-demo): demo_admin demo_district demo_commune demo_chair demo_collaborator demo_viewer"
((DEMO)) || demo_users="No demo users: make one with build/baove-admin user add (README, \"Admin commands\")."
# No banner if the API already died (e.g. port in use): wait -n below reports it.
kill -0 "$API_PID" 2>/dev/null && cat >&2 <<EOF

Baove is running: API $base_url (pid $API_PID), worker pid $WORKER_PID
Database: $(shown_url "$DATABASE_URL")$backups
$demo_users
Get a token over HTTP:
  curl -s -XPOST $base_url/v1/auth/token -H 'content-type: application/json' \\
       -d '{"username":"demo_district","password":"baove-demo"}'
or directly:
  ${admin_env}build/baove-admin token issue --username demo_district
Ctrl-C stops $stops.

EOF

# Block until either child exits (or a signal trap fires).  A child exiting on
# its own is always an error for a long-running service.
set +e
wait -n "$API_PID" "$WORKER_PID"
rc=$?
set -e
if ! kill -0 "$API_PID" 2>/dev/null; then
  say "baove-api exited (status $rc); stopping the worker"
else
  say "baove-worker exited (status $rc); stopping the api"
fi
((rc != 0)) || rc=1
exit "$rc"
