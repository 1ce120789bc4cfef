#!/bin/sh
# One-shot (temporalio/admin-tools): creates or upgrades Temporal's two PostgreSQL databases.
# Safe to run on every `docker compose up`: when a database already has Temporal's schema,
# only `update-schema` runs, which applies the versions that are missing and nothing else.
set -eu

: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
DB_PORT="${DB_PORT:-5432}"
DBNAME="${DBNAME:-temporal}"
VISIBILITY_DBNAME="${VISIBILITY_DBNAME:-temporal_visibility}"
SCHEMA_ROOT="${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}"
i=0
until nc -z -w 2 "$POSTGRES_SEEDS" "$DB_PORT"; do
  i=$((i + 1)); [ "$i" -lt 60 ] || { echo "PostgreSQL unreachable" >&2; exit 1; }
  sleep 2
done

sqltool() {
  # SQL_PASSWORD is read from the environment by temporal-sql-tool.
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

setup() { # database, versioned schema folder
  db="$1"; dir="$2"
  if sqltool --db "$db" update-schema -d "$dir" >/tmp/update.log 2>&1; then
    echo "$db: schema up to date"
    return 0
  fi
  echo "$db: no schema yet (update-schema said:)"; sed 's/^/  /' /tmp/update.log
  sqltool --db "$db" create || echo "$db: database exists already"
  sqltool --db "$db" setup-schema -v 0.0
  sqltool --db "$db" update-schema -d "$dir"
  echo "$db: schema created"
}

setup "$DBNAME" "$SCHEMA_ROOT/temporal/versioned"
setup "$VISIBILITY_DBNAME" "$SCHEMA_ROOT/visibility/versioned"
