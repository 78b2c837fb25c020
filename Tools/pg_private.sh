#!/bin/bash
# A private PostgreSQL server for tests and benchmarks: initdb in a folder of its own, run as an
# unprivileged user, listening on loopback only (and a socket in the folder). Never a server that
# was already running.
#
#   Tools/pg_private.sh start DIR PORT    create (first time) and start; prints the URL
#   Tools/pg_private.sh stop DIR          stop (fast: in-flight transactions are rolled back)
#   Tools/pg_private.sh restart DIR       stop and start again, as an operator would
#   Tools/pg_private.sh kill DIR          SIGKILL the postmaster (a crash; recovery at next start)
set -euo pipefail
cmd=$1
dir=$2
# Close every inherited descriptor but the standard three (and bash's own script, 255): the
# server must not keep a caller's pipe open, or the caller waits for it forever.
for fd in /proc/$$/fd/*; do
  n=${fd##*/}
  if [ "$n" -gt 2 ] 2>/dev/null && [ "$n" != 255 ]; then eval "exec $n>&-" 2>/dev/null || true; fi
done
bin=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do bin=$d; break; done
[ -n "$bin" ] || bin=$(dirname "$(command -v initdb)")
as_user=()
if [ "$(id -u)" = 0 ]; then
  # initdb and postgres refuse to run as root.
  as_user=(runuser -u postgres --)
fi
case "$cmd" in
start)
  port=$3
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir/data" "$dir/run"
    [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
    chmod 700 "$dir/data"
    "${as_user[@]}" "$bin/initdb" -D "$dir/data" -U bank --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/run'
max_connections = 200
fsync = on
synchronous_commit = on
shared_buffers = 128MB
CONF
  fi
  # The server keeps none of the caller's descriptors (a test reading this script's output
  # would otherwise wait for the server to end).
  "${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    </dev/null >"$dir/pg_ctl.log" 2>&1 || { tail -20 "$dir/server.log" >&2; exit 1; }
  "${as_user[@]}" "$bin/psql" -h "$dir/run" -p "$port" -U bank -d postgres -qAt \
    -c "SELECT 1 FROM pg_database WHERE datname = 'bank'" | grep -q 1 \
    || "${as_user[@]}" "$bin/createdb" -h "$dir/run" -p "$port" -U bank bank
  echo "postgres://bank@127.0.0.1:$port/bank"
  ;;
stop) "${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ;;
restart) "${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 restart -l "$dir/server.log" \
  </dev/null >"$dir/pg_ctl.log" 2>&1 ;;
sql)
  # sql DIR PORT STATEMENT...: each statement on its own (CREATE DATABASE cannot be in a block).
  port=$3
  shift 3
  for st in "$@"; do
    "${as_user[@]}" "$bin/psql" -h "$dir/run" -p "$port" -U bank -d postgres -qAt -v ON_ERROR_STOP=1 -c "$st"
  done
  ;;
psql)
  # psql DIR PORT DATABASE STATEMENT...
  port=$3
  db=$4
  shift 4
  for st in "$@"; do
    "${as_user[@]}" "$bin/psql" -h "$dir/run" -p "$port" -U bank -d "$db" -qAt -v ON_ERROR_STOP=1 -c "$st"
  done
  ;;
kill) kill -9 "$(head -1 "$dir/data/postmaster.pid")" ;;
*) echo "usage: $0 start DIR PORT | stop DIR | restart DIR | kill DIR" >&2; exit 64 ;;
esac
