#!/usr/bin/env bash
# Spectral over openapi.yaml: the OpenAPI ruleset and the OWASP API Security
# ruleset (pinned in package.json), as .spectral.yaml changes them (each
# exception there has its reason). Fails on any error; shows only errors (the
# remaining warnings: run spectral lint without --display-only-failures).
#
# Usage: tests/contract/spectral.sh [openapi.yaml]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SPEC=${1:-$HERE/../../openapi.yaml}
cd "$HERE"
exec npx --no-install spectral lint "$SPEC" --ruleset "$HERE/.spectral.yaml" \
  --fail-severity error --format text --display-only-failures
