#!/bin/sh
# Runs once, when the PostgreSQL data volume is first initialised (docker-entrypoint-initdb.d).
# Creates two roles on the one server:
#   - the Temporal role, allowed to create databases: temporal-sql-tool creates `temporal` and
#     `temporal_visibility` itself (see ../temporal/setup-schema.sh);
#   - the Concentra role, owner of the Concentra database (TypeORM migrations run as it).
# Changing the passwords in .env later does NOT change them here: alter the roles, or drop the volume.
set -eu

: "${TEMPORAL_DB_USER:?}" "${TEMPORAL_DB_PASSWORD:?}"
: "${CONCENTRA_DB_USER:?}" "${CONCENTRA_DB_PASSWORD:?}" "${CONCENTRA_DB_NAME:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v temporal_user="$TEMPORAL_DB_USER" -v temporal_password="$TEMPORAL_DB_PASSWORD" \
  -v concentra_user="$CONCENTRA_DB_USER" -v concentra_password="$CONCENTRA_DB_PASSWORD" \
  -v concentra_db="$CONCENTRA_DB_NAME" <<'SQL'
CREATE ROLE :"temporal_user" WITH LOGIN CREATEDB PASSWORD :'temporal_password';
CREATE ROLE :"concentra_user" WITH LOGIN PASSWORD :'concentra_password';
CREATE DATABASE :"concentra_db" OWNER :"concentra_user";
REVOKE ALL ON DATABASE :"concentra_db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"concentra_db" TO :"concentra_user";
SQL

echo "init-databases: roles ${TEMPORAL_DB_USER}, ${CONCENTRA_DB_USER}; database ${CONCENTRA_DB_NAME}"
