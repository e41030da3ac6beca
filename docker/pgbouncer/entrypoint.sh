#!/bin/sh
# Writes PgBouncer's user list from the environment (the password is needed
# both to check the API's SCRAM login and to log in to postgres), then runs it.
set -eu
umask 077
printf '"baove_app" "%s"\n' "${BAOVE_APP_PASSWORD:?}" >/tmp/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
