#!/usr/bin/env bash
# Self-test for the contract tooling: runs check.mjs (and lint.sh) on the
# fixtures in fixtures/ and asserts each exit code, plus a pattern the output
# must contain so a run cannot "fail" for the wrong reason.
#
# Usage: tests/contract/selftest.sh
# Prints one line per case and ends with `selftest: N passed, M failed`.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
F=fixtures

# Install the pinned tool chain from the lockfile if it is not there yet.
if [[ ! -d node_modules/ajv || ! -x node_modules/.bin/redocly ]]; then
  echo "selftest: installing pinned dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2 || { echo "selftest: npm ci failed" >&2; exit 1; }
fi

passed=0
failed=0

# expect NAME RC PATTERN CMD...  — run CMD, require exit code RC and output
# matching the extended regex PATTERN (empty PATTERN = no output check).
expect() {
  local name=$1 want=$2 pattern=$3
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -eq $want ]] && { [[ -z $pattern ]] || grep -Eq -- "$pattern" <<<"$out"; }; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name (exit $rc, want $want; pattern: ${pattern:-none})"
    sed 's/^/     | /' <<<"$out"
  fi
}

check() { node check.mjs "$@"; }
SPEC=$F/openapi.yaml

# --- good records pass -------------------------------------------------------
expect "good records pass, all operations covered" 0 \
  'contract: 17 responses checked, 5 operations covered, 0 failures' check "$SPEC" $F/good.jsonl
expect "several input files are combined" 0 \
  'contract: 18 responses checked, 5 operations covered, 0 failures' check "$SPEC" $F/good.jsonl $F/partial.jsonl
expect "unexercised operations are reported, not failed" 0 \
  'not exercised: POST /v1/units/search' check "$SPEC" $F/partial.jsonl
expect "OpenAPI 3.0 nullable/exclusiveMinimum are understood" 0 \
  ', 0 failures' check $F/openapi30.yaml $F/good30.jsonl

# --- each kind of bad record fails -------------------------------------------
expect "wrong schema type" 1 '/name must be string' check "$SPEC" $F/bad-schema-type.jsonl
expect "missing required field" 1 "must have required property 'kind'" check "$SPEC" $F/bad-missing-field.jsonl
expect "additional property" 1 "additional properties 'colour'" check "$SPEC" $F/bad-extra-property.jsonl
expect "bad value inside a \$ref'd component" 1 "/items/0/parent must have required property 'code'" \
  check "$SPEC" $F/bad-nested-ref.jsonl
expect "bad format (date)" 1 '/valid_from must match format "date"' check "$SPEC" $F/bad-format.jsonl
expect "undocumented status" 1 'GET /v1/units 503: undocumented status' check "$SPEC" $F/bad-undocumented-status.jsonl
expect "wrong content type" 1 'content type "text/html" not documented' check "$SPEC" $F/bad-content-type.jsonl
expect "unknown path answered 200" 1 'expected 404, got 200' check "$SPEC" $F/bad-unknown-path-200.jsonl
expect "unknown path 404 with invalid Problem" 1 "Problem body does not match .*required property 'title'" \
  check "$SPEC" $F/bad-unknown-path-problem.jsonl
expect "405 with wrong Allow" 1 'Allow "GET, PUT" does not list exactly' check "$SPEC" $F/bad-allow.jsonl
expect "405 without Allow" 1 '405 without Allow header' check "$SPEC" $F/bad-allow-missing.jsonl
expect "literal path beats template (GET on POST-only path)" 1 'GET /v1/units/search 200: .*expected 405' \
  check "$SPEC" $F/bad-literal-beats-template.jsonl
expect "4xx not problem+json" 1 'status >= 400 must be application/problem\+json' check "$SPEC" $F/bad-4xx-not-problem.jsonl
expect "missing required header" 1 'missing required header ETag' check "$SPEC" $F/bad-missing-header.jsonl
expect "header value violates its schema (uuid)" 1 'header X-Request-Id value' check "$SPEC" $F/bad-header-value.jsonl
expect "header value violates its schema (integer)" 1 'header Retry-After value "soon"' check "$SPEC" $F/bad-header-integer.jsonl
expect "body on a no-content response" 1 'documents no content, but the body is not empty' \
  check "$SPEC" $F/bad-no-content-has-body.jsonl
expect "empty text/plain body" 1 'empty text/plain body' check "$SPEC" $F/bad-empty-text.jsonl
expect "JSON media type with non-JSON body" 1 'body is not valid JSON' check "$SPEC" $F/bad-not-json.jsonl
expect "unparseable JSONL line" 1 'invalid JSON line' check "$SPEC" $F/bad-invalid-line.jsonl
expect "one bad record among good ones" 1 ', 1 failures' check "$SPEC" $F/bad-mixed.jsonl
expect "OpenAPI 3.0 non-nullable null and exclusive bound" 1 '/id must be string; /weight must be > 0' \
  check $F/openapi30.yaml $F/bad30.jsonl
expect "empty input fails" 1 'contract: 0 responses checked' check "$SPEC" $F/empty.jsonl
expect "blank-lines-only input fails" 1 'no records in input' check "$SPEC" $F/blank.jsonl

# --- usage errors --------------------------------------------------------------
expect "missing arguments" 2 'usage:' check "$SPEC"
expect "missing input file" 2 'cannot read' check "$SPEC" $F/does-not-exist.jsonl

# --- lint configuration --------------------------------------------------------
expect "lint passes the fixture spec" 0 'valid' bash lint.sh $F/openapi.yaml
expect "lint fails an undefined security scheme" 1 'security-defined' bash lint.sh $F/lint-bad.yaml

echo "selftest: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
