#!/usr/bin/env bash
# The front-end teams' view of the contract: TypeScript types generated from
# openapi.yaml by openapi-typescript, the scenario client (scenario.mts)
# type-checked under `tsc --strict`, then run against BAOVE_API_URL,
# recording every response into BAOVE_RECORD for check.mjs.
#
# With BAOVE_CLIENT_MODE=prism the scenario goes through Prism in proxy mode
# with --errors (every request and response validated against openapi.yaml;
# a violation is an error answer), and Prism's log must name no violation.
#
# Usage: run.sh OUT_DIR   (BAOVE_API_URL, BAOVE_RECORD set; BAOVE_SPEC optional)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONTRACT=$(cd "$HERE/.." && pwd)
OUT=${1:?usage: run.sh OUT_DIR}
export BAOVE_SPEC=${BAOVE_SPEC:-$(cd "$CONTRACT/../.." && pwd)/openapi.yaml}
mkdir -p "$OUT"
cp "$HERE/scenario.mts" "$OUT/scenario.mts"
cd "$CONTRACT"
npx --no-install openapi-typescript "$BAOVE_SPEC" -o "$OUT/api.d.mts" >&2
# --strict and no escape hatch: a vague schema is a compile error here.
npx --no-install tsc --strict --noUncheckedIndexedAccess --exactOptionalPropertyTypes \
  --target es2022 --module nodenext --moduleResolution nodenext --types node \
  --typeRoots "$CONTRACT/node_modules/@types" --outDir "$OUT" "$OUT/scenario.mts"
if grep -nE '\bany\b' "$HERE/scenario.mts"; then
  echo "client: scenario.mts uses any" >&2
  exit 1
fi
if [[ ${BAOVE_CLIENT_MODE:-direct} != prism ]]; then
  exec node "$OUT/scenario.mjs"
fi

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});')
log=$OUT/prism.log
# Prism in a process group of its own (setsid), stopped as a whole on exit:
# through npx its node process would be a child that outlives a plain kill.
setsid "$CONTRACT/node_modules/.bin/prism" proxy --errors --host 127.0.0.1 --port "$port" \
  "$BAOVE_SPEC" "$BAOVE_API_URL" >"$log" 2>&1 &
prism=$!
trap 'kill -- "-$prism" 2>/dev/null || true; wait "$prism" 2>/dev/null || true' EXIT
for ((i = 0; i < 240; i++)); do
  curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
  kill -0 "$prism" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.25
done
status=0
BAOVE_API_URL=http://127.0.0.1:$port node "$OUT/scenario.mjs" || status=$?
violations=$(grep -ci 'violation' "$log" || true)
echo "client: through Prism, $violations violation lines in its log" >&2
if ((violations > 0)); then
  grep -i -B2 -A6 'violation' "$log" | head -n 80 >&2
  status=1
fi
exit "$status"
