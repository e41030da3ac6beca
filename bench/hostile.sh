#!/usr/bin/env bash
# bench/hostile.sh: the "Done means" figures of issue 12, on loopback only,
# every loop bounded.  Not part of `make test`.  Needs wrk and python3.
#
#   HOSTILE_DATABASE_URL  a migrated, seeded (--demo) database (required)
#   HOSTILE_CHILD         id of a child demo_district may read (required)
#   HOSTILE_PORT          API port (8098)
#   HOSTILE_SLOW          slow sockets (2000) over 8 addresses, one byte / 5 s
#   HOSTILE_SECONDS       seconds per phase (30)
#
# 1. slow sockets vs an honest client: success %, API threads, RSS;
# 2. wrk -c16 and -c1000 on GET /v1/children/{id}: req/s, socket errors, threads;
# 3. 100 parallel wrong sign-ins: how many were checked, whether the owner
#    signs in from another address, /v1/me p99 meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${HOSTILE_DATABASE_URL:?}" "${HOSTILE_CHILD:?}"
port=${HOSTILE_PORT:-8098}
slow=${HOSTILE_SLOW:-2000}
seconds=${HOSTILE_SECONDS:-30}
ulimit -n "$(ulimit -Hn)"
DATABASE_URL=$HOSTILE_DATABASE_URL BAOVE_HTTP_PORT=$port BAOVE_LOG_LEVEL=error \
  build/baove-api 2>var/hostile-api.log &
api=$!
trap 'kill $api 2>/dev/null; wait $api 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
sign_in() { # username password source-address
  curl -s --interface "$3" -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" "http://127.0.0.1:$port/v1/auth/token"
}
token=$(curl -fs -H 'Content-Type: application/json' \
  -d '{"username":"demo_district","password":"baove-demo"}' \
  "http://127.0.0.1:$port/v1/auth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
threads() { awk '/^Threads:/ {print $2}' "/proc/$api/status"; }

echo "== 1. $slow slow sockets from 8 addresses, one byte every 5 s, ${seconds}s"
python3 bench/slow_clients.py "$port" "$token" "$api" "$slow" 8 5 "$seconds"

echo "== 2. wrk on GET /v1/children/$HOSTILE_CHILD"
for connections in 16 1000; do
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$port/v1/children/$HOSTILE_CHILD" & sleep $((seconds / 2)); \
        echo "threads during: $(threads)" >&2; wait)
  echo "-c$connections: $(grep -E 'Requests/sec' <<<"$out") $(grep -E 'Socket errors|Non-2xx' <<<"$out" | tr '\n' ' ') p99 $(awk '/ 99%/ {print $2}' <<<"$out")"
done

echo "== 3. 100 parallel wrong sign-ins for demo_chair from 127.0.0.1"
for i in $(seq 100); do sign_in demo_chair wrong 127.0.0.1 >"var/hostile-guess-$i" & done
me=$(for i in $(seq 100); do curl -s -o /dev/null -w '%{time_total}\n' \
       -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/me"; done | sort -n)
owner=$(sign_in demo_chair baove-demo 127.0.0.40)
wait_guesses() { for job in $(jobs -p); do [ "$job" = "$api" ] || wait "$job" || true; done; }
wait_guesses
echo "checked (401): $(cat var/hostile-guess-* | grep -c 401 || true)," \
     "throttled (429): $(cat var/hostile-guess-* | grep -c 429 || true)," \
     "owner from 127.0.0.40: $owner," \
     "/v1/me p99: $(sed -n 99p <<<"$me") s, max $(tail -1 <<<"$me") s"
rm -f var/hostile-guess-*
