#!/usr/bin/env bash
# pgbouncer.sh PORT DIR: runs a real PgBouncer (Debian's package) in the
# foreground, in transaction pooling mode, on 127.0.0.1:PORT in front of the
# test cluster (scripts/pg.sh, through its unix socket).  The harness starts
# it for tests (configuration and log in DIR, made afresh) that run the API through a pooler (BAOVE_TEST_PGBOUNCER_PORT)
# and kills it when the test program ends.
#
# Two server sessions, used in turn (server_round_robin), for the API's four
# connections: even one client's consecutive transactions land on different
# server sessions, which is what breaks session state (named prepared
# statements, SET) in production under load.
# Clients are trusted: it listens on the loopback only, for a test.
set -euo pipefail
port=${1:?usage: pgbouncer.sh PORT DIR}
dir=${2:?usage: pgbouncer.sh PORT DIR}
[[ $port =~ ^[0-9]+$ ]] || { echo "pgbouncer.sh: bad port $port" >&2; exit 2; }
command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]] ||
  { echo "pgbouncer.sh: pgbouncer is not installed (scripts/deps.sh)" >&2; exit 1; }

# The cluster's socket directory and port, from its application URL
# (postgresql:///db?host=%2F...&port=N&user=baove_app).
url=$(bash "${BAOVE_TEST_PG_CTL:?}" url)
query=${url#*\?}
socket_dir= pg_port=
IFS='&' read -ra fields <<<"$query"
for field in "${fields[@]}"; do
  case $field in
    host=*) encoded=${field#host=}; socket_dir=$(printf '%b' "${encoded//%/\\x}") ;;
    port=*) pg_port=${field#port=} ;;
  esac
done
[[ -n $socket_dir && -n $pg_port ]] || { echo "pgbouncer.sh: cannot read $url" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir"
chmod 755 "$dir"
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$socket_dir port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 2
min_pool_size = 2
server_round_robin = 1
max_client_conn = 100
server_check_delay = 0
logfile = $dir/pgbouncer.log
ignore_startup_parameters = extra_float_digits
INI
printf '"baove_app" ""\n"baove_owner" ""\n' >"$dir/userlist.txt"
user_switch=()
if [[ $(id -u) -eq 0 ]]; then
  # PgBouncer refuses to run as root; the cluster's own user reaches its socket.
  chown -R postgres "$dir"
  user_switch=(-u postgres)
fi
echo "pgbouncer.sh: listening on 127.0.0.1:$port, log $dir/pgbouncer.log" >&2
exec "$(command -v pgbouncer || echo /usr/sbin/pgbouncer)" "${user_switch[@]}" "$dir/pgbouncer.ini"
