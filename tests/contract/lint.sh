#!/usr/bin/env bash
# Lint an OpenAPI description with Redocly CLI (pinned in package.json),
# using tests/contract/redocly.yaml (recommended ruleset + our overrides).
#
# Usage: tests/contract/lint.sh [openapi.yaml]
#   default spec: <repo>/openapi.yaml
# Exit status: non-zero when Redocly reports errors (warnings are allowed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

# Resolve the spec path before we change directory.
SPEC="${1:-$ROOT/openapi.yaml}"
case "$SPEC" in /*) ;; *) SPEC="$PWD/$SPEC" ;; esac
if [[ ! -f "$SPEC" ]]; then
  echo "lint: no such file: $SPEC" >&2
  exit 2
fi

cd "$HERE"
# Install the pinned tool chain from the lockfile if it is not there yet.
if [[ ! -x node_modules/.bin/redocly ]]; then
  echo "lint: installing pinned dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi

# No telemetry, no update check: CI has no general network access.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

exec npx --no-install redocly lint "$SPEC" --config "$HERE/redocly.yaml" --format=stylish
