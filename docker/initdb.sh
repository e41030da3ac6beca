#!/usr/bin/env bash
# Run once by the postgres:15 image on first start (/docker-entrypoint-initdb.d),
# as the superuser, when the data volume is empty.  Sets up what scripts/pg.sh
# sets up for the embedded cluster: roles baove_owner (owns the database, runs
# migrations) and baove_app (DML only, granted by the migrations), database
# baove, and the extensions the migrations use (creating them needs a superuser).
set -euo pipefail

: "${BAOVE_OWNER_PASSWORD:?set BAOVE_OWNER_PASSWORD}"
: "${BAOVE_APP_PASSWORD:?set BAOVE_APP_PASSWORD}"
db=${BAOVE_DB:-baove}

# Passwords are passed as psql variables (:'var' quotes them safely).
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
     -v owner_pw="$BAOVE_OWNER_PASSWORD" -v app_pw="$BAOVE_APP_PASSWORD" -v db="$db" <<'SQL'
CREATE ROLE baove_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_pw';
CREATE ROLE baove_app   LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_pw';
CREATE DATABASE :"db" OWNER baove_owner ENCODING 'UTF8' TEMPLATE template0;
\connect :"db"
ALTER SCHEMA public OWNER TO baove_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO baove_app;
GRANT CONNECT ON DATABASE :"db" TO baove_app;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SQL
