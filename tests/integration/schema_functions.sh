#!/usr/bin/env bash
# schema_functions.sh (ctest integration_schema_functions): sql/functions/
# against the migrations they were taken from.
#
#  1. (Retired at 0014, see below.)  The conversion's proof.  Database
#     "old" is built the old way: only
#     the migration files up to 0012 (the last one before sql/functions/
#     existed), run by psql as the owner role.  Database "new" is built by
#     `baove-admin migrate` (every migration, then every function file).
#     Their `pg_dump --schema-only` must be identical but for what 0013 adds
#     (the table schema_objects), and so must every function's
#     pg_get_functiondef and ACL (compared one by one, for a readable
#     message).  A function file that differs from the last definition in
#     the migrations fails here.  NOTE: this pins the schema of 0001-0012:
#     the first deliberate change of a function file or a new migration
#     makes it differ on purpose, and the baseline must then move (build
#     "old" from the commit that made the change's parent, or retire step 1);
#     steps 2-5 stay valid as they are.
#  2. Upgrading "old" (a deployed database: 0001-0012 applied) with
#     `baove-admin migrate` gives exactly the schema of a fresh one.
#  3. A second migrate reloads nothing and changes nothing.
#  4. With a copy of sql/ (BAOVE_SQL_DIR): an edited file is reported as
#     the one reloaded and its new body is live; a new file is loaded, a
#     deleted one forgotten; a broken file rolls the whole run back, a
#     pending migration included.
#  5. Every function of the schema is defined by exactly one file.
#
# Environment (scripts/test.sh, tests/CMakeLists.txt): BAOVE_TEST_PG_CTL,
# BAOVE_ADMIN_BIN, BAOVE_SQL_DIR, and the test cluster's BAOVE_PG_DIR /
# BAOVE_PG_PORT.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*" >&2; }

: "${BAOVE_TEST_PG_CTL:?BAOVE_TEST_PG_CTL is not set}"
: "${BAOVE_ADMIN_BIN:?BAOVE_ADMIN_BIN is not set}"
: "${BAOVE_SQL_DIR:?BAOVE_SQL_DIR is not set}"
# The last migration before sql/functions/ existed: what the proof compares.
CONVERTED_THROUGH=12

PG_BIN=/usr/lib/postgresql/15/bin
[[ -x $PG_BIN/pg_dump ]] || PG_BIN=$(dirname "$(command -v pg_dump)")
# Our own clients must not be redirected by the caller's libpq environment.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS || true

work=$(mktemp -d /tmp/baove-schema-XXXXXX)
trap 'rm -rf "$work"' EXIT

pg() { bash "$BAOVE_TEST_PG_CTL" "$@"; }
sql() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
# migrate URL [SQL_DIR]: runs baove-admin migrate, its stderr into $work/migrate.log.
migrate() {
  BAOVE_ADMIN_DATABASE_URL=$1 BAOVE_SQL_DIR=${2:-$BAOVE_SQL_DIR} "$BAOVE_ADMIN_BIN" migrate \
    2>"$work/migrate.log"
}
# dump URL FILE [pg_dump options]: the schema, without the lines that differ
# between any two dumps (the random \restrict key of pg_dump 15.14+).
dump() {
  local url=$1 file=$2
  shift 2
  "$PG_BIN/pg_dump" --schema-only "$@" -d "$url" | grep -v -E '^\\(un)?restrict ' >"$file"
}
# functions URL FILE: every function of ours (not the extensions'), its
# definition and ACL, one block each, sorted by signature.
functions() {
  sql "$1" "SELECT string_agg(p.oid::regprocedure::text || E'\\n' || pg_get_functiondef(p.oid)
                              || 'ACL ' || coalesce(p.proacl::text, '(default)') || E'\\n',
                              E'\\n' ORDER BY p.oid::regprocedure::text)
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public'
               AND NOT EXISTS (SELECT FROM pg_depend d
                                WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                  AND d.deptype = 'e')" >"$2"
}
# function_sums URL FILE: "signature<TAB>checksum of its definition and ACL".
function_sums() {
  sql "$1" "SELECT p.oid::regprocedure::text || E'\\t'
                   || md5(pg_get_functiondef(p.oid) || coalesce(p.proacl::text, ''))
              FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public'
               AND NOT EXISTS (SELECT FROM pg_depend d
                                WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                  AND d.deptype = 'e')" | LC_ALL=C sort >"$2"
}
# compare_functions OLD_URL NEW_URL: names what differs, then the whole diff.
compare_functions() {
  functions "$1" "$work/old.functions"
  functions "$2" "$work/new.functions"
  cmp -s "$work/old.functions" "$work/new.functions" && return 0
  function_sums "$1" "$work/old.sums"
  function_sums "$2" "$work/new.sums"
  echo "functions whose definition or ACL differs (old, new):" >&2
  LC_ALL=C join -t $'\t' -a 1 -a 2 -e missing -o 0,1.2,2.2 "$work/old.sums" "$work/new.sums" |
    awk -F '\t' '$2 != $3 { print "  " $1 ": " $2 ", " $3 }' >&2
  diff -u "$work/old.functions" "$work/new.functions" >&2 || true
  return 1
}

databases=(baove_t_schema_old baove_t_schema_new)
for database in "${databases[@]}"; do
  pg recreatedb "$database" 2>/dev/null || fail "cannot create database $database (pg.sh recreatedb)"
done
old_url=$(pg admin-url baove_t_schema_old)
new_url=$(pg admin-url baove_t_schema_new)

step "database old: migrations 0001-$(printf %04d $CONVERTED_THROUGH) by psql"
# The bookkeeping table exactly as admin/migrate.c creates it, with a row per
# file as migrate would have written: a database deployed before 0013.
sql "$old_url" "CREATE TABLE schema_migrations (version integer PRIMARY KEY,
                  name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL)"
applied=0
for file in "$BAOVE_SQL_DIR"/migrations/[0-9][0-9][0-9][0-9]_*.sql; do
  name=$(basename "$file")
  version=$((10#${name:0:4}))
  ((version <= CONVERTED_THROUGH)) || continue
  PGOPTIONS="-c client_min_messages=warning" \
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 --single-transaction -d "$old_url" -f "$file" \
    >/dev/null || fail "$name does not apply with psql"
  sql "$old_url" "INSERT INTO schema_migrations VALUES ($version, '$name',
                    '$(sha256sum "$file" | cut -d' ' -f1)', now())"
  applied=$((applied + 1))
done
((applied == CONVERTED_THROUGH)) || fail "expected $CONVERTED_THROUGH migrations, found $applied"

step "database new: baove-admin migrate"
migrate "$new_url" || { cat "$work/migrate.log" >&2; fail "migrate of a fresh database failed"; }
files=$(find "$BAOVE_SQL_DIR/functions" -name '*.sql' | wc -l)
grep -q "sql/functions: $files new, 0 changed, 0 unchanged, 0 removed" "$work/migrate.log" ||
  { cat "$work/migrate.log" >&2; fail "a fresh migrate did not load all $files files as new"; }

# Step 1 is retired (as its note foresaw): migration 0014 (plan years) and
# its function files change the schema on purpose.  The proof held at the
# commit that introduced sql/functions/, and its history keeps it.
step "1. (retired at 0014: the conversion's proof is in the history)"

step "2. upgrading old (a deployed database) gives the schema of a fresh one"
migrate "$old_url" || { cat "$work/migrate.log" >&2; fail "migrate of the old database failed"; }
latest=$(find "$BAOVE_SQL_DIR/migrations" -name '[0-9][0-9][0-9][0-9]_*.sql' | wc -l)
grep -q "schema at version $latest ($((latest - CONVERTED_THROUGH)) applied now)" \
  "$work/migrate.log" ||
  { cat "$work/migrate.log" >&2; fail "the upgrade did not apply exactly 0013-$(printf %04d "$latest")"; }
grep -q "sql/functions: $files new, 0 changed" "$work/migrate.log" ||
  { cat "$work/migrate.log" >&2; fail "the upgrade did not record all $files files"; }
dump "$old_url" "$work/upgraded.sql"
dump "$new_url" "$work/fresh.sql"
diff -u "$work/fresh.sql" "$work/upgraded.sql" >&2 ||
  fail "an upgraded database differs from a fresh one"

step "3. a second migrate reloads nothing and changes nothing"
recorded() { sql "$new_url" "SELECT string_agg(path || ' ' || checksum || ' ' || loaded_at, ','
                                              ORDER BY path) FROM schema_objects"; }
before=$(recorded)
migrate "$new_url" || { cat "$work/migrate.log" >&2; fail "a second migrate failed"; }
grep -q "sql/functions: 0 new, 0 changed, $files unchanged, 0 removed" "$work/migrate.log" &&
  grep -q "(0 applied now)" "$work/migrate.log" &&
  ! grep -q -E "loaded|forgot|applying" "$work/migrate.log" ||
  { cat "$work/migrate.log" >&2; fail "a second migrate reported changes"; }
dump "$new_url" "$work/again.sql"
diff -u "$work/fresh.sql" "$work/again.sql" >&2 || fail "a second migrate changed the schema"
[[ $(recorded) == "$before" ]] || fail "a second migrate changed schema_objects"

step "4. an edited file is reloaded, and only it"
copy=$work/sql
cp -r "$BAOVE_SQL_DIR" "$copy"
sed -i "s|'DD/MM/YYYY'|'DD.MM.YYYY'|" "$copy/functions/foundation/date_vi.sql"
grep -q "DD.MM.YYYY" "$copy/functions/foundation/date_vi.sql" || fail "could not edit date_vi.sql"
[[ $(sql "$new_url" "SELECT date_vi('2020-04-29')") == 29/04/2020 ]] || fail "date_vi before"
migrate "$new_url" "$copy" || { cat "$work/migrate.log" >&2; fail "migrate of an edit failed"; }
[[ $(grep -c -E "loaded|forgot" "$work/migrate.log") == 1 ]] &&
  grep -q "reloaded foundation/date_vi.sql (changed)" "$work/migrate.log" &&
  grep -q "sql/functions: 0 new, 1 changed, $((files - 1)) unchanged, 0 removed" \
    "$work/migrate.log" ||
  { cat "$work/migrate.log" >&2; fail "the edit was not reported as the one file reloaded"; }
[[ $(sql "$new_url" "SELECT date_vi('2020-04-29')") == 29.04.2020 ]] ||
  fail "the edited body of date_vi is not live"
[[ $(sql "$new_url" "SELECT checksum FROM schema_objects WHERE path = 'foundation/date_vi.sql'") == \
   $(sha256sum "$copy/functions/foundation/date_vi.sql" | cut -d' ' -f1) ]] ||
  fail "schema_objects does not hold the edited file's checksum"

step "4. a new file is loaded, a deleted one forgotten"
mkdir -p "$copy/functions/probe"
cat >"$copy/functions/probe/schema_probe.sql" <<'EOF'
-- A function only this test defines.
CREATE OR REPLACE FUNCTION schema_probe() RETURNS integer LANGUAGE sql AS $$ SELECT 42 $$;
EOF
migrate "$new_url" "$copy" && grep -q "loaded probe/schema_probe.sql (new)" "$work/migrate.log" ||
  { cat "$work/migrate.log" >&2; fail "a new file was not loaded"; }
[[ $(sql "$new_url" "SELECT schema_probe()") == 42 ]] || fail "the new function is not there"
rm -r "$copy/functions/probe"
migrate "$new_url" "$copy" && grep -q "forgot probe/schema_probe.sql" "$work/migrate.log" &&
  grep -q "0 new, 0 changed, $files unchanged, 1 removed" "$work/migrate.log" ||
  { cat "$work/migrate.log" >&2; fail "a deleted file was not forgotten"; }

step "4. a broken file rolls the whole run back, its pending migration included"
cat >"$copy/migrations/0099_probe.sql" <<'EOF'
CREATE TABLE schema_probe_table (id integer);
EOF
cat >"$copy/functions/foundation/broken.sql" <<'EOF'
CREATE OR REPLACE FUNCTION broken( RETURNS integer;
EOF
sed -i "s|'DD.MM.YYYY'|'DD-MM-YYYY'|" "$copy/functions/foundation/date_vi.sql"
if migrate "$new_url" "$copy"; then fail "migrate with a broken file succeeded"; fi
grep -q "foundation/broken.sql failed" "$work/migrate.log" &&
  grep -q "nothing of this run was committed" "$work/migrate.log" ||
  { cat "$work/migrate.log" >&2; fail "the broken file was not reported"; }
[[ $(sql "$new_url" "SELECT to_regclass('schema_probe_table') IS NULL
                            AND (SELECT max(version) FROM schema_migrations) = $latest") == t ]] ||
  fail "the migration of the failed run was committed"
[[ $(sql "$new_url" "SELECT date_vi('2020-04-29')") == 29.04.2020 ]] ||
  fail "a function of the failed run was committed"

step "5. every function is defined by exactly one file"
sql "$new_url" "DROP FUNCTION schema_probe()"
migrate "$new_url" || { cat "$work/migrate.log" >&2; fail "migrate back to sql/ failed"; }
grep -h -o -i -E '^CREATE OR REPLACE FUNCTION [a-z0-9_]+' -r "$BAOVE_SQL_DIR/functions" |
  awk '{ print $5 }' | sort >"$work/defined"
sort -u "$work/defined" | cmp -s - "$work/defined" ||
  fail "a function is defined in two files: $(uniq -d "$work/defined")"
for file in $(find "$BAOVE_SQL_DIR/functions" -name '*.sql'); do
  [[ $(grep -i -o -E '^CREATE OR REPLACE FUNCTION [a-z0-9_]+' "$file" | awk '{ print $5 }' |
       sort -u | wc -l) == 1 ]] || fail "$file does not define exactly one function name"
  [[ $(grep -i -o -E '^CREATE OR REPLACE FUNCTION [a-z0-9_]+' "$file" | awk '{ print $5 }' |
       head -1).sql == $(basename "$file") ]] || fail "$file is not named after its function"
done
sql "$new_url" "SELECT DISTINCT p.proname FROM pg_proc p
                  JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'public'
                   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                      AND d.objid = p.oid AND d.deptype = 'e')
                 ORDER BY 1" | LC_ALL=C sort >"$work/catalogue"
LC_ALL=C sort -u "$work/defined" >"$work/defined.sorted"
diff -u "$work/catalogue" "$work/defined.sorted" >&2 ||
  fail "functions of the schema and of sql/functions differ (- catalogue only, + files only)"

for database in "${databases[@]}"; do
  pg dropdb "$database" 2>/dev/null
done
echo "ok: sql/functions defines what migrations 0001-$(printf %04d $CONVERTED_THROUGH) define" >&2
