#!/usr/bin/env bash
# Start a private redis-server for lmroute (tests, demos, several gateway replicas).
#
#   scripts/services/redis.sh start PORT DIR   install Debian's redis-server if missing, start it
#                                              on 127.0.0.1:PORT (no persistence; pid, log in DIR),
#                                              wait until it answers PING
#   scripts/services/redis.sh stop DIR         stop the server started with DIR
#
# Installing needs root (apt-get); the tests skip with the reason when it cannot be done.
set -euo pipefail

cmd=${1:-}
case "$cmd" in
  start)
    port=${2:?usage: redis.sh start PORT DIR}
    dir=${3:?usage: redis.sh start PORT DIR}
    if ! command -v redis-server >/dev/null 2>&1; then
      if [ "$(id -u)" != 0 ]; then
        echo "redis.sh: redis-server is not installed and installing it needs root" >&2
        exit 3
      fi
      echo "redis.sh: installing Debian's redis-server (apt-get)" >&2
      export DEBIAN_FRONTEND=noninteractive
      (apt-get install -y -q redis-server >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q redis-server >/dev/null; }) ||
        { echo "redis.sh: apt-get could not install redis-server" >&2; exit 3; }
    fi
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
      --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      --maxmemory 512mb --maxmemory-policy noeviction
    for _ in $(seq 1 100); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
        echo "redis.sh: redis-server on 127.0.0.1:$port (pid $(cat "$dir/redis.pid"))" >&2
        exit 0
      fi
      sleep 0.05
    done
    echo "redis.sh: redis-server did not answer on port $port; see $dir/redis.log" >&2
    exit 1
    ;;
  stop)
    dir=${2:?usage: redis.sh stop DIR}
    if [ -f "$dir/redis.pid" ]; then
      kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
      rm -f "$dir/redis.pid"
    fi
    ;;
  *)
    echo "usage: redis.sh {start PORT DIR | stop DIR}" >&2
    exit 2
    ;;
esac
