#!/usr/bin/env bash
# make bench: a throw-away PostgreSQL 15 cluster, then bench/run.py (writes docs/benchmarks.md).
set -uo pipefail
cd "$(dirname "$0")/.."
B=/usr/lib/postgresql/15/bin
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk (make bench does it)"; exit 1; }
T=$(mktemp -d)
PORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_pg() {
  [ -f "$T/data/postmaster.pid" ] && as_pg $B/pg_ctl -D "$T/data" -m fast stop >/dev/null 2>&1
  rm -rf "$T"
}
trap stop_pg EXIT
[ "$(id -u)" -eq 0 ] && chown postgres "$T"
as_pg $B/initdb -D "$T/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$T/initdb.log" 2>&1 \
  || { cat "$T/initdb.log"; exit 1; }
as_pg $B/pg_ctl -D "$T/data" -l "$T/log" -w -o "-p $PORT -k $T -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100" start >/dev/null \
  || { cat "$T/log"; exit 1; }
export PG_ADMIN_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
.venv/bin/python bench/run.py
