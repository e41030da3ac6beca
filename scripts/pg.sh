#!/usr/bin/env bash
# pg.sh: manage Baove's embedded PostgreSQL 15 cluster (one per checkout).
#
# Usage: scripts/pg.sh init|start|stop|status
#        scripts/pg.sh createdb NAME | recreatedb NAME | dropdb NAME
#        scripts/pg.sh url [NAME] | admin-url [NAME]
#        scripts/pg.sh psql [NAME] [psql args...]
#        scripts/pg.sh destroy        (stop and delete the whole cluster)
#        scripts/pg.sh standby DIR PORT  (a streaming hot standby of this cluster
#                                     in DIR on PORT, started; then manage it with
#                                     BAOVE_PG_DIR=DIR BAOVE_PG_PORT=PORT)
#        scripts/pg.sh promote        (a standby becomes a primary)
#        scripts/pg.sh backup [full|diff|incr]   (pgBackRest; prints the label)
#        scripts/pg.sh backup-check   (archive the current WAL now and wait)
#        scripts/pg.sh backups        (what the repository holds)
#        scripts/pg.sh restore --to TIME DIR PORT  (point-in-time copy of this
#                                     cluster in DIR on PORT, started, promoted,
#                                     under new database identities)
#
# Environment:
#   BAOVE_PG_DIR   cluster directory   (default <repo>/var/pg)
#   BAOVE_PG_PORT  TCP port            (default: the port the cluster last started on,
#                  recorded in $BAOVE_PG_DIR/port, else 54329; TCP listens on
#                  127.0.0.1 only).  A running cluster keeps its port: status,
#                  url and admin-url report the port it really listens on.
#   BAOVE_PG_DB    default database    (default baove)
#   BAOVE_PG_BACKUP_DIR  pgBackRest repository (default <cluster>/backup; must
#                  be writable by the server's OS user)
#   BAOVE_PG_ARCHIVE  on (default) | off: continuous WAL archiving
#
# Backups (docs/backups.md): every cluster archives its WAL continuously
# (archive_command = pgBackRest archive-push) into its own repository,
# stanza "baove", configured in <cluster>/pgbackrest.conf; the stanza is
# created on the first start as a primary.
#
# Layout under $BAOVE_PG_DIR: data/ (PGDATA), run/ (unix socket), log/postgres.log,
# credentials (mode 600: BAOVE_OWNER_PASSWORD=..., BAOVE_APP_PASSWORD=...),
# pgbackrest.conf and backup/ (the repository, unless BAOVE_PG_BACKUP_DIR).
# Roles: postgres (superuser, socket only, trust), baove_owner (owns the
# databases and schema public; runs migrations), baove_app (DML only, granted by
# the migrations).  Local (socket) connections are trusted; TCP needs a password.
#
# Everything meant for humans goes to stderr; `url`/`admin-url` print only the
# URL on stdout so that callers can write DATABASE_URL=$(scripts/pg.sh url).
set -euo pipefail

# Directories we create must be traversable by the postgres user even if the
# caller has a restrictive umask; the credentials file is chmod'ed explicitly.
umask 022

# Our own psql calls must not be redirected by the caller's libpq environment
# (PGHOST, PGOPTIONS, a PGSERVICE file...).  This only affects this process.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGPASSFILE \
      PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE PGDATA PGCONNECT_TIMEOUT || true

die() { echo "pg.sh: $*" >&2; exit 1; }
say() { echo "pg.sh: $*" >&2; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)

PG_PORT_DEFAULT=54329
# Provisional until resolve_dirs knows the cluster (see choose_port).
PG_PORT=${BAOVE_PG_PORT:-$PG_PORT_DEFAULT}
PG_DB=${BAOVE_PG_DB:-baove}
if [[ -n ${BAOVE_PG_PORT:-} ]]; then
  [[ $BAOVE_PG_PORT =~ ^[0-9]+$ ]] || die "BAOVE_PG_PORT must be a number, got '$BAOVE_PG_PORT'"
fi

# Absolute form of BAOVE_PG_DIR (relative paths are relative to the caller's
# cwd, like any other path argument).  Not canonicalised: it may be a symlink.
PG_DIR=${BAOVE_PG_DIR:-$REPO_ROOT/var/pg}
[[ $PG_DIR == /* ]] || PG_DIR=$PWD/$PG_DIR
PG_DIR=${PG_DIR%/}

# Debian's PostgreSQL 15 server binaries live here; `pg_config --bindir` may
# point at /usr/bin (client wrappers only, no initdb/pg_ctl/postgres).
if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
  PG_BIN=/usr/lib/postgresql/15/bin
elif command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/pg_ctl" ]]; then
  PG_BIN=$(pg_config --bindir)
else
  die "PostgreSQL 15 server binaries not found (run scripts/deps.sh)"
fi

IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1
if ((IS_ROOT)); then
  getent passwd postgres >/dev/null || die "running as root but there is no 'postgres' system user (install postgresql-15)"
fi

# Run a server-side command (initdb, pg_ctl) as the cluster's OS user: the
# PostgreSQL server refuses to run as root, so root delegates to 'postgres'.
# cd / first so that a cwd the postgres user cannot read (e.g. /root/...)
# does not produce errors.
as_pg() {
  if ((IS_ROOT)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# True if the cluster's OS user can traverse directory $1 (for root: the
# postgres user; otherwise ourselves).  Checks the nearest existing ancestor,
# since missing directories will be created by us with mode 755.
pg_user_can_traverse() {
  local d=$1
  while [[ ! -e $d && $d != / ]]; do d=$(dirname "$d"); done
  if ((IS_ROOT)); then
    (cd / && runuser -u postgres -- test -x "$d")
  else
    test -x "$d"
  fi
}

# Unix socket paths are limited to sizeof(sun_path)=108 bytes including NUL;
# keep a margin.
SOCKET_PATH_MAX=100

# Decide where the cluster really lives (REAL_DIR).  Normally that is
# $BAOVE_PG_DIR itself.  If the postgres user could not reach it (checkout
# under /root) or the socket path would be too long, the cluster goes to
# /var/tmp/baove-pg-<hash> and $BAOVE_PG_DIR becomes a symlink to it.  The hash
# is of the absolute BAOVE_PG_DIR, so each checkout/cluster gets its own place.
# With create=1 the directories are created; otherwise this is side-effect
# free (used by url/admin-url/status).
resolve_dirs() {
  local create=${1:-0} relocate=0 reason=""
  if [[ -L $PG_DIR ]]; then
    REAL_DIR=$(readlink "$PG_DIR")
    [[ $REAL_DIR == /* ]] || REAL_DIR=$(dirname "$PG_DIR")/$REAL_DIR
  elif [[ -d $PG_DIR && -e $PG_DIR/data/PG_VERSION ]]; then
    # An existing cluster stays where it is.
    REAL_DIR=$PG_DIR
  else
    if ((IS_ROOT)) && ! pg_user_can_traverse "$(dirname "$PG_DIR")"; then
      relocate=1; reason="the postgres user cannot access $(dirname "$PG_DIR")"
    fi
    local sock="$PG_DIR/run/.s.PGSQL.$PG_PORT"
    if ((${#sock} > SOCKET_PATH_MAX)); then
      relocate=1; reason="the unix socket path under $PG_DIR would be too long"
    fi
    if [[ $PG_DIR == *[[:space:]\'\"]* ]]; then
      relocate=1; reason="$PG_DIR holds a space or a quote, which archive_command cannot carry"
    fi
    if ((relocate)); then
      # /var/tmp: survives reboots (unlike /tmp on some systems) and is
      # reachable by every user.
      REAL_DIR=/var/tmp/baove-pg-$(printf '%s' "$PG_DIR" | sha1sum | cut -c1-12)
    else
      REAL_DIR=$PG_DIR
    fi
  fi
  DATA_DIR=$REAL_DIR/data
  RUN_DIR=$REAL_DIR/run
  LOG_DIR=$REAL_DIR/log
  LOG_FILE=$LOG_DIR/postgres.log
  CRED_FILE=$REAL_DIR/credentials
  PORT_FILE=$REAL_DIR/port
  choose_port
  BACKREST_CONF=$REAL_DIR/pgbackrest.conf
  ((create)) || return 0

  if ((relocate)); then
    # Replace an empty placeholder directory by the symlink; refuse to touch
    # anything with content.
    if [[ -d $PG_DIR && ! -L $PG_DIR ]]; then
      rmdir "$PG_DIR" 2>/dev/null || die "$PG_DIR must be relocated ($reason) but is a non-empty directory; remove it"
    fi
    if [[ -e $REAL_DIR ]]; then
      # /var/tmp is world-writable: do not adopt a directory someone else made.
      [[ -O $REAL_DIR ]] || die "$REAL_DIR exists but is not owned by $(id -un); remove it"
      # Left over from an earlier checkout at the same path whose var/ was
      # deleted: $BAOVE_PG_DIR is being created anew, so start from a clean
      # cluster too (deleting var/ means "reset"), unless it is still running.
      if is_running; then
        say "adopting the cluster still running in $REAL_DIR"
      else
        say "removing stale cluster $REAL_DIR (its $PG_DIR link was gone)"
        rm -rf "$REAL_DIR"
      fi
    fi
    mkdir -p "$REAL_DIR" "$(dirname "$PG_DIR")"
    ln -sfn "$REAL_DIR" "$PG_DIR"
    say "$reason: cluster placed in $REAL_DIR ($PG_DIR is a symlink to it)"
  fi
  mkdir -p "$REAL_DIR" "$DATA_DIR" "$RUN_DIR" "$LOG_DIR"
  # Made by this script: what become_new_cluster may replace.
  touch "$REAL_DIR/.baove-pg-made"
  # Only the server's user (and root) reaches the socket and the logs: a
  # socket connection is trusted (pg_hba.conf), and the logs may quote
  # children's data.  The cluster's own directory is only traversed.
  chmod 711 "$REAL_DIR"
  chmod 700 "$RUN_DIR" "$LOG_DIR"
  chmod 700 "$DATA_DIR"
  if ((IS_ROOT)); then
    # The server writes data/, the socket + lock file in run/, and its log.
    chown postgres:postgres "$DATA_DIR" "$RUN_DIR" "$LOG_DIR"
    [[ -e $LOG_FILE ]] && chown postgres:postgres "$LOG_FILE"
  fi
  return 0
}

# The port the cluster last started on (written by pg_start), or nothing.
recorded_port() {
  local port=""
  [[ -r $PORT_FILE ]] && read -r port <"$PORT_FILE"
  [[ $port =~ ^[0-9]+$ ]] && printf '%s' "$port"
  return 0
}

# PG_PORT: a running cluster's own port (so that `url` is right whatever
# BAOVE_PG_PORT says); otherwise BAOVE_PG_PORT, the recorded port, 54329.
# baove-admin, baove-api and baove-worker read the same port file
# (common/config.c) when no DATABASE_URL is set.
choose_port() {
  local recorded
  recorded=$(recorded_port)
  if [[ -n $recorded ]] && is_running; then
    PG_PORT=$recorded
  else
    PG_PORT=${BAOVE_PG_PORT:-${recorded:-$PG_PORT_DEFAULT}}
  fi
}

# The port a running server really listens on: line 4 of postmaster.pid.
running_port() {
  as_pg sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null || true
}

is_running() {
  [[ -e $DATA_DIR/PG_VERSION ]] || return 1
  as_pg "$PG_BIN/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1
}

# psql as the superuser over the unix socket.  -X: ignore ~/.psqlrc.
su_psql() {
  local db=$1; shift
  # client_min_messages: hide "does not exist, skipping" NOTICEs.
  PGOPTIONS='-c client_min_messages=warning' "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -p "$PG_PORT" -U postgres -d "$db" "$@"
}

check_db_name() {
  # Names are interpolated into SQL and URLs: keep them to plain identifiers.
  [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "invalid database name '$1' (use letters, digits, _)"
}

random_password() {
  if command -v openssl >/dev/null 2>&1; then
    openssl rand -hex 16
  else
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
  fi
}

# Port and socket dir are (re)written on every start into an included file, so
# that a different BAOVE_PG_PORT on a later run takes effect and `url` stays right.
write_runtime_conf() {
  local f=$DATA_DIR/baove-runtime.conf
  as_pg tee "$f" >/dev/null <<EOF
# Written by scripts/pg.sh on every start; do not edit.
port = $PG_PORT
unix_socket_directories = '$RUN_DIR'
unix_socket_permissions = 0700
# What each statement costs, for operators (CREATE EXTENSION
# pg_stat_statements as postgres to read it); tests/integration/test_principals.c
# counts the API's token lookups with it.
shared_preload_libraries = 'pg_stat_statements'
EOF
  if archiving; then
    write_backrest_conf
    # archive_timeout: a quiet cluster still archives its last writes
    # within a minute, which bounds what a lost disk can take with it.
    as_pg tee -a "$f" >/dev/null <<EOF
archive_mode = on
archive_command = '$(backrest_command) archive-push %p'
archive_timeout = 60
EOF
  fi
}

# --- Backups (pgBackRest) ----------------------------------------------------

archiving() {
  case ${BAOVE_PG_ARCHIVE:-on} in
    on) command -v pgbackrest >/dev/null 2>&1 || die "pgbackrest is not installed (run scripts/deps.sh) or set BAOVE_PG_ARCHIVE=off"
        return 0 ;;
    off) return 1 ;;
    *) die "BAOVE_PG_ARCHIVE must be on or off, got '${BAOVE_PG_ARCHIVE}'" ;;
  esac
}

# pgBackRest with this cluster's configuration (and its own lock directory:
# /tmp/pgbackrest would be shared by every cluster's stanza "baove").
backrest_command() {
  printf "pgbackrest --config=%s --stanza=baove" "$BACKREST_CONF"
}

backrest() {
  # shellcheck disable=SC2046  # the command's words, none with spaces
  as_pg $(backrest_command) "$@"
}

# The repository of this cluster (kept when it exists, so that a later
# BAOVE_PG_BACKUP_DIR does not silently split the history) and its logs.
write_backrest_conf() {
  [[ $REAL_DIR != *[[:space:]\'\"]* ]] || die "the cluster path must not contain spaces or quotes for archive_command: $REAL_DIR"
  local repo
  if [[ -s $BACKREST_CONF ]]; then
    repo=$(sed -n 's/^repo1-path=//p' "$BACKREST_CONF")
  else
    repo=${BAOVE_PG_BACKUP_DIR:-$REAL_DIR/backup}
    [[ $repo == /* ]] || repo=$PWD/$repo
  fi
  mkdir -p "$repo" "$RUN_DIR/pgbackrest"
  ((IS_ROOT)) && chown postgres:postgres "$repo" "$RUN_DIR/pgbackrest"
  cat >"$BACKREST_CONF" <<EOF
# Written by scripts/pg.sh on every start; do not edit (docs/backups.md).
[global]
repo1-path=$repo
# Two full backups and the WAL they need; differentials and
# incrementals in between expire with their full backup.
repo1-retention-full=2
compress-type=lz4
start-fast=y
lock-path=$RUN_DIR/pgbackrest
log-path=$LOG_DIR
log-level-console=warn
log-level-file=info

[baove]
pg1-path=$DATA_DIR
pg1-port=$PG_PORT
pg1-socket-path=$RUN_DIR
pg1-user=postgres
EOF
  chmod 644 "$BACKREST_CONF"
}

# The stanza is created once, by a primary: a standby's own repository
# gets it when it is promoted.
ensure_stanza() {
  archiving || return 0
  [[ -e $REAL_DIR/.baove-stanza-done ]] && return 0
  [[ $(su_psql postgres -tAc "SELECT pg_is_in_recovery()") == f ]] || return 0
  say "creating the pgBackRest stanza (repository: $(sed -n 's/^repo1-path=//p' "$BACKREST_CONF"))"
  backrest stanza-create >/dev/null || die "pgbackrest stanza-create failed (log: $LOG_DIR)"
  touch "$REAL_DIR/.baove-stanza-done"
}

require_archiving() {
  archiving || die "archiving is off (BAOVE_PG_ARCHIVE=off)"
  [[ $(su_psql postgres -tAc "SHOW archive_mode") == on ]] ||
    die "archive_mode is off: this cluster was started before archiving was configured; restart it (pg.sh stop; pg.sh start)"
  ensure_stanza
}

do_backup() {
  local type=${1:-incr}
  [[ $type =~ ^(full|diff|incr)$ ]] || die "usage: pg.sh backup [full|diff|incr]"
  pg_init; pg_start; require_archiving
  say "backup ($type; the first one is always full)"
  backrest --type="$type" backup || die "pgbackrest backup failed (log: $LOG_DIR)"
  # The newest backup's label (they are listed oldest first), for scripts.
  backrest info --output=json | grep -o '"label":"[^"]*"' | tail -n 1 | cut -d'"' -f4
}

# Whether path $1 is $2 or lies inside it (both made absolute, links
# resolved as far as they exist).
path_within() {
  local inner outer
  inner=$(realpath -m -- "$1") outer=$(realpath -m -- "$2")
  [[ $inner == "$outer" || $inner == "$outer"/* ]]
}

# From here on this script manages the cluster in DIR on PORT, made anew:
# a cluster this script made earlier there (a copy or a standby) is stopped
# and deleted, the directories are created.  Anything else in DIR is
# refused before a byte is touched: an existing directory that is not such
# a cluster, the source cluster itself (a restore "in place"), or a place
# inside or around the source or its backup repository.
become_new_cluster() {
  local source_dir=$REAL_DIR source_repo=""
  [[ -s $BACKREST_CONF ]] && source_repo=$(sed -n 's/^repo1-path=//p' "$BACKREST_CONF")
  PG_DIR=$1; [[ $PG_DIR == /* ]] || PG_DIR=$PWD/$PG_DIR
  PG_PORT=$2
  local place
  for place in "$source_dir" $source_repo; do
    if path_within "$PG_DIR" "$place" || path_within "$place" "$PG_DIR"; then
      die "$PG_DIR is, holds or lies inside $place (the source cluster or its backups): choose a new directory"
    fi
  done
  if [[ -e $PG_DIR ]]; then
    resolve_dirs 0
    if [[ -n $(ls -A "$PG_DIR" 2>/dev/null) && ! -e $REAL_DIR/.baove-init-done &&
          ! -e $REAL_DIR/.baove-pg-made ]]; then
      die "$PG_DIR exists and is not a cluster made by pg.sh: choose a new directory (nothing was touched)"
    fi
    path_within "$REAL_DIR" "$source_dir" && die "$PG_DIR leads to the source cluster: choose a new directory"
    pg_stop
    if [[ -L $PG_DIR ]]; then rm -f "$PG_DIR"; fi
    rm -rf "$REAL_DIR" "$PG_DIR"
  fi
  resolve_dirs 1
  PG_PORT=$2 # resolve_dirs chose one by BAOVE_PG_PORT: the source's
}

# A point-in-time copy of this cluster: the newest backup that ended before
# TIME, then the archived WAL up to TIME, promoted at once.  The copy is a
# new history: its databases get new identities (database_identity), so a
# feed cursor given out by this cluster - later than TIME or not - is
# refused by the copy (400) instead of silently reading another history
# whose transaction numbers it will reuse (docs/backups.md).
restore_copy() {
  local time=$1 target=$2 target_port=$3
  [[ $target_port =~ ^[0-9]+$ ]] || die "restore: PORT must be a number"
  [[ -n $time ]] || die "restore: --to TIME is required"
  resolve_dirs 0
  [[ -s $BACKREST_CONF ]] || die "no pgBackRest configuration in $REAL_DIR: nothing was ever archived"
  local source_conf=$BACKREST_CONF source_cred=$CRED_FILE
  become_new_cluster "$target" "$target_port"
  mkdir -p "$RUN_DIR/pgbackrest"
  ((IS_ROOT)) && chown postgres:postgres "$REAL_DIR" "$RUN_DIR/pgbackrest"
  # The copy archives into a repository of its own, never the source's: its
  # new timeline there would be followed by the source's next restores.
  unset BAOVE_PG_BACKUP_DIR
  say "restoring to $time into $DATA_DIR (port $PG_PORT)"
  # The source's configuration reads its repository; restore_command (in
  # postgresql.auto.conf) keeps reading it until the copy is promoted.
  # target-timeline=current: the backup's own history, never a timeline a
  # promoted standby may have added to the repository.
  as_pg pgbackrest --config="$source_conf" --stanza=baove --pg1-path="$DATA_DIR" \
    --type=time --target="$time" --target-action=promote --target-timeline=current \
    --log-path="$LOG_DIR" --lock-path="$RUN_DIR/pgbackrest" restore ||
    die "pgbackrest restore failed (log: $LOG_DIR)"
  cp "$source_cred" "$CRED_FILE"
  touch "$REAL_DIR/.baove-init-done"
  pg_start
  local waited
  for ((waited = 0; waited < 600; waited++)); do
    [[ $(su_psql postgres -tAc "SELECT pg_is_in_recovery()") == f ]] && break
    sleep 0.1
  done
  [[ $(su_psql postgres -tAc "SELECT pg_is_in_recovery()") == f ]] ||
    die "the restored cluster did not finish recovery within 60 s (log: $LOG_FILE)"
  new_identities
  ensure_stanza
  say "restored to $time: $DATA_DIR, port $PG_PORT (its own repository from now on)"
}

# Every database that has the feed's identity gets a new one.
new_identities() {
  local db
  for db in $(su_psql postgres -tAc "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"); do
    if [[ $(su_psql "$db" -tAc "SELECT to_regclass('database_identity') IS NOT NULL") == t ]]; then
      su_psql "$db" -c "UPDATE database_identity SET id = gen_random_uuid()"
      say "database $db: new identity (feed cursors of the original are refused)"
    fi
  done
}

do_initdb() {
  say "initialising cluster in $DATA_DIR"
  as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1 \
    || { tail -n 30 "$LOG_DIR/initdb.log" >&2; die "initdb failed (log: $LOG_DIR/initdb.log)"; }
  as_pg tee -a "$DATA_DIR/postgresql.conf" >/dev/null <<'EOF'

# --- Baove embedded cluster (scripts/pg.sh) ---
listen_addresses = '127.0.0.1'
max_connections = 200
shared_buffers = 256MB
password_encryption = 'scram-sha-256'
log_line_prefix = '%m [%p] %q%u@%d '
# port and unix_socket_directories:
include = 'baove-runtime.conf'
EOF
  write_runtime_conf
  as_pg tee "$DATA_DIR/pg_hba.conf" >/dev/null <<'EOF'
# Written by scripts/pg.sh.  Socket: trust (the socket and its directory are
# the server user's alone, 0700); TCP: loopback only, password (credentials
# file) required.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  scram-sha-256
EOF
}

pg_start() {
  if is_running; then
    return 0
  fi
  write_runtime_conf
  if ((IS_ROOT)); then
    touch "$LOG_FILE"; chown postgres:postgres "$LOG_FILE"
  fi
  say "starting PostgreSQL on port $PG_PORT (socket dir $RUN_DIR, log $LOG_FILE)"
  printf '%s\n' "$PG_PORT" >"$PORT_FILE"
  chmod 644 "$PORT_FILE"
  local out
  if ! out=$(as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 start 2>&1); then
    echo "$out" >&2
    echo "pg.sh: PostgreSQL failed to start; last 30 lines of $LOG_FILE:" >&2
    tail -n 30 "$LOG_FILE" >&2 || true
    exit 1
  fi
  ensure_stanza
}

pg_stop() {
  if ! is_running; then
    return 0
  fi
  say "stopping PostgreSQL ($DATA_DIR)"
  as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -w -t 60 -m fast stop >/dev/null
}

# Create (or re-sync the passwords of) baove_owner and baove_app.  The
# passwords live in the credentials file; generating it first and always
# applying it keeps this step re-runnable after an interrupted init.
ensure_roles() {
  if [[ ! -s $CRED_FILE ]]; then
    (umask 077
     printf 'BAOVE_OWNER_PASSWORD=%s\nBAOVE_APP_PASSWORD=%s\n' "$(random_password)" "$(random_password)" >"$CRED_FILE")
  fi
  chmod 600 "$CRED_FILE"
  local BAOVE_OWNER_PASSWORD BAOVE_APP_PASSWORD
  # shellcheck disable=SC1090
  . "$CRED_FILE"
  # The passwords travel on psql's standard input, never on a command line
  # (which every local user can read in the process list).
  {
    printf "\\set owner_pw '%s'\n" "${BAOVE_OWNER_PASSWORD//\'/\'\'}"
    printf "\\set app_pw '%s'\n" "${BAOVE_APP_PASSWORD//\'/\'\'}"
    cat <<'EOF'
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'baove_owner') AS need_owner,
       NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'baove_app')   AS need_app \gset
\if :need_owner
  CREATE ROLE baove_owner LOGIN;
\endif
\if :need_app
  CREATE ROLE baove_app LOGIN;
\endif
-- Owner: owns the databases and runs DDL, but is not a superuser and cannot
-- create roles or databases.  App: plain login; DML is granted by migrations.
ALTER ROLE baove_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_pw';
ALTER ROLE baove_app   LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_pw';
EOF
  } | su_psql postgres
}

db_exists() {
  [[ $(su_psql postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'") == 1 ]]
}

# Create database $1 owned by baove_owner with Baove's schema/extension setup.
create_database() {
  local db=$1
  su_psql postgres -c "CREATE DATABASE \"$db\" OWNER baove_owner ENCODING 'UTF8' TEMPLATE template0"
  su_psql "$db" <<EOF
-- Only the owner may create objects in public; the app role gets DML through
-- the grants that the migrations issue.
ALTER SCHEMA public OWNER TO baove_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO baove_app;
GRANT CONNECT ON DATABASE "$db" TO baove_app;
-- Extensions need a superuser; the migrations just use them.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
EOF
}

drop_database() {
  # WITH (FORCE) terminates the database's connections first (PG 13+).
  su_psql postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"
}

# init: idempotent.  A marker written at the very end distinguishes a finished
# init from an interrupted one, which is resumed (every step is re-runnable).
pg_init() {
  resolve_dirs 1
  check_db_name "$PG_DB"
  if [[ -e $DATA_DIR/PG_VERSION && -e $REAL_DIR/.baove-init-done ]]; then
    return 0
  fi
  [[ -e $DATA_DIR/PG_VERSION ]] || do_initdb
  pg_start
  ensure_roles
  db_exists "$PG_DB" || create_database "$PG_DB"
  touch "$REAL_DIR/.baove-init-done"
  say "cluster ready: roles baove_owner, baove_app; database $PG_DB; credentials in $CRED_FILE"
}

# libpq URL over the unix socket; every byte outside the unreserved set of the
# host path is percent-encoded so libpq decodes it back exactly.
urlencode() {
  local LC_ALL=C s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c"; out+=$c ;;
    esac
  done
  printf '%s' "$out"
}

# A hot standby of this (running) cluster: pg_basebackup -R over the unix
# socket, streaming, in its own directory, port and socket directory, with
# the same credentials.  Replication connections over the socket are
# trusted like every other local connection.
create_standby() {
  local target=$1 target_port=$2
  [[ $target_port =~ ^[0-9]+$ ]] || die "standby: PORT must be a number"
  pg_init; pg_start
  local primary_run=$RUN_DIR primary_port=$PG_PORT primary_data=$DATA_DIR primary_cred=$CRED_FILE
  if ! grep -q '^local[[:space:]]\+replication' "$primary_data/pg_hba.conf"; then
    echo "local   replication all                 trust" | as_pg tee -a "$primary_data/pg_hba.conf" >/dev/null
    su_psql postgres -c "SELECT pg_reload_conf()" >/dev/null
  fi
  become_new_cluster "$target" "$target_port"
  ((IS_ROOT)) && chown postgres:postgres "$REAL_DIR" "$RUN_DIR" "$LOG_DIR"
  say "standby of port $primary_port in $DATA_DIR (port $PG_PORT)"
  as_pg "$PG_BIN/pg_basebackup" -D "$DATA_DIR" -R -X stream -c fast -h "$primary_run" \
    -p "$primary_port" -U postgres >"$LOG_DIR/basebackup.log" 2>&1 ||
    { cat "$LOG_DIR/basebackup.log" >&2; die "pg_basebackup failed"; }
  as_pg chmod 700 "$DATA_DIR"
  cp "$primary_cred" "$CRED_FILE"
  touch "$REAL_DIR/.baove-init-done"
  pg_start
}

print_url() {
  local user=$1 db=${2:-$PG_DB}
  check_db_name "$db"
  resolve_dirs 0
  printf 'postgresql:///%s?host=%s&port=%s&user=%s\n' "$db" "$(urlencode "$RUN_DIR")" "$PG_PORT" "$user"
}

usage() {
  sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

cmd=${1:-}
[[ -n $cmd ]] || usage
shift

case $cmd in
  init)
    resolve_dirs 0
    was_running=0; is_running && was_running=1
    pg_init
    # `init` leaves the cluster as it found it (stopped, for a new one);
    # `start` is what leaves it running.
    ((was_running)) || pg_stop
    ;;
  start)
    pg_init
    pg_start
    ;;
  stop)
    resolve_dirs 0
    pg_stop
    ;;
  status)
    resolve_dirs 0
    if is_running; then
      say "running: $DATA_DIR, port $(running_port), socket dir $RUN_DIR"
    else
      say "not running ($DATA_DIR)"
      exit 3
    fi
    ;;
  createdb)
    [[ $# -eq 1 ]] || die "usage: pg.sh createdb NAME"
    check_db_name "$1"
    pg_init; pg_start
    [[ -z $(su_psql postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'") ]] ||
      die "database $1 exists (pg.sh recreatedb $1 drops it and creates it empty)"
    create_database "$1"
    say "created database $1"
    ;;
  recreatedb)
    # Tests and benchmarks: a database of their own, empty, whatever an
    # earlier run left.  Never point it at a database you keep.
    [[ $# -eq 1 ]] || die "usage: pg.sh recreatedb NAME"
    check_db_name "$1"
    pg_init; pg_start
    drop_database "$1"
    create_database "$1"
    say "created database $1 (anew)"
    ;;
  dropdb)
    [[ $# -eq 1 ]] || die "usage: pg.sh dropdb NAME"
    check_db_name "$1"
    pg_init; pg_start
    drop_database "$1"
    say "dropped database $1"
    ;;
  url)
    print_url baove_app "${1:-}"
    ;;
  admin-url)
    print_url baove_owner "${1:-}"
    ;;
  psql)
    db=$PG_DB
    if [[ $# -gt 0 && $1 != -* ]]; then db=$1; shift; fi
    pg_init; pg_start
    exec "$PG_BIN/psql" -X -h "$RUN_DIR" -p "$PG_PORT" -U postgres -d "$db" "$@"
    ;;
  destroy)
    # Not in the original interface: lets CI remove its throwaway test cluster
    # (a fresh clone under /root would otherwise leave one per run in /var/tmp).
    resolve_dirs 0
    pg_stop
    if [[ -L $PG_DIR ]]; then rm -f "$PG_DIR"; fi
    rm -rf "$REAL_DIR"
    say "removed cluster $REAL_DIR"
    ;;
  standby)
    [[ $# -eq 2 ]] || die "usage: pg.sh standby DIR PORT"
    create_standby "$1" "$2"
    ;;
  promote)
    resolve_dirs 0
    as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -w -t 60 promote >/dev/null
    say "promoted $DATA_DIR"
    ensure_stanza
    ;;
  backup)
    [[ $# -le 1 ]] || die "usage: pg.sh backup [full|diff|incr]"
    do_backup "${1:-incr}"
    ;;
  backup-check)
    pg_init; pg_start; require_archiving
    backrest check || die "pgbackrest check failed (log: $LOG_DIR)"
    ;;
  backups)
    resolve_dirs 0
    backrest info
    ;;
  restore)
    [[ $# -eq 4 && $1 == --to ]] || die "usage: pg.sh restore --to TIME DIR PORT"
    restore_copy "$2" "$3" "$4"
    ;;
  -h|--help|help)
    usage 0
    ;;
  *)
    echo "pg.sh: unknown command '$cmd'" >&2
    usage
    ;;
esac
