#!/usr/bin/env bash
# make test: a throw-away PostgreSQL 15 cluster, then the whole suite on SQLite and PostgreSQL.
set -uo pipefail
cd "$(dirname "$0")/.."
B=/usr/lib/postgresql/15/bin
T=$(mktemp -d)
PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
stop_pg() {
  if [ -f "$T/data/postmaster.pid" ]; then
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- $B/pg_ctl -D "$T/data" -m fast stop >/dev/null 2>&1
    else $B/pg_ctl -D "$T/data" -m fast stop >/dev/null 2>&1; fi
  fi
  rm -rf "$T"
}
trap stop_pg EXIT
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$T"
as_pg $B/initdb -D "$T/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$T/initdb.log" 2>&1 \
  || { cat "$T/initdb.log"; exit 1; }
as_pg $B/pg_ctl -D "$T/data" -l "$T/log" -w -o "-p $PORT -k $T -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$T/log"; exit 1; }
$B/createdb -h 127.0.0.1 -p "$PORT" -U postgres conversion_test
export TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/conversion_test"
export TEST_POSTGRES_ADMIN_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
export TEST_PG_BIN=$B TEST_PG_DATA="$T/data" TEST_PG_PORT=$PORT TEST_PG_SOCKET="$T"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
status=$?
if [ $status -eq 5 ]; then echo "pytest collected no tests: failing on purpose."; status=1; fi
exit $status
