#!/usr/bin/env bash
# Start a private PostgreSQL server for lmroute (tests, demos, several gateway replicas).
#
#   scripts/services/postgres.sh start PORT DIR   install Debian's postgresql if missing,
#                                                 initdb DIR/data (once), start it on
#                                                 127.0.0.1:PORT (socket, log in DIR), create
#                                                 the database `lmroute`, wait until it answers;
#                                                 prints the DSN on stdout
#   scripts/services/postgres.sh stop DIR         stop the server started with DIR (fast mode)
#
# The cluster's superuser is `lmroute` with trust authentication on 127.0.0.1 only: a
# private, throwaway server, never a production set-up (docs/scale.md says what to use).
# PostgreSQL refuses to run as root: when run as root, the server runs as the `postgres`
# system user (created by the Debian package) and DIR is handed to it.
# Installing needs root (apt-get); the tests skip with the reason when it cannot be done.
set -euo pipefail

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  return 1
}

install_pg() {
  if pg_bin >/dev/null; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "postgres.sh: postgresql is not installed and installing it needs root" >&2
    exit 3
  fi
  echo "postgres.sh: installing Debian's postgresql (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y -q postgresql >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }) ||
    { echo "postgres.sh: apt-get could not install postgresql" >&2; exit 3; }
  # the package starts a system-wide cluster on 5432; ours are private: leave it alone
}

as_owner() {  # run a command as the data directory's owner (never root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}
case "$cmd" in
  start)
    port=${2:?usage: postgres.sh start PORT DIR}
    dir=${3:?usage: postgres.sh start PORT DIR}
    install_pg
    bin=$(pg_bin)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [ "$(id -u)" = 0 ]; then
      chown -R postgres "$dir"
      # the server must reach DIR: every parent needs o+x for the postgres user
      if ! runuser -u postgres -- test -w "$dir"; then
        echo "postgres.sh: the postgres user cannot write $dir (a parent is not searchable)" >&2
        exit 1
      fi
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U lmroute --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 ||
        { echo "postgres.sh: initdb failed; see $dir/initdb.log" >&2; exit 1; }
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
      start >/dev/null ||
      { echo "postgres.sh: the server did not start; see $dir/postgres.log" >&2; exit 1; }
    for _ in $(seq 1 100); do
      if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        "$bin/psql" -h 127.0.0.1 -p "$port" -U lmroute -d postgres -tAq \
          -c "SELECT 1 FROM pg_database WHERE datname = 'lmroute'" | grep -q 1 ||
          "$bin/createdb" -h 127.0.0.1 -p "$port" -U lmroute lmroute
        echo "postgres.sh: postgres on 127.0.0.1:$port (data $dir/data)" >&2
        echo "postgresql://lmroute@127.0.0.1:$port/lmroute"
        exit 0
      fi
      sleep 0.1
    done
    echo "postgres.sh: postgres did not answer on port $port; see $dir/postgres.log" >&2
    exit 1
    ;;
  stop)
    dir=${2:?usage: postgres.sh stop DIR}
    bin=$(pg_bin) || exit 0
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    ;;
  *)
    echo "usage: postgres.sh {start PORT DIR | stop DIR}" >&2
    exit 2
    ;;
esac
