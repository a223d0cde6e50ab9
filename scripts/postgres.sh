#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suites (SPEC section 9), in a
# temporary folder, no Docker: `scripts/postgres.sh start` installs
# Debian's package if missing, starts a cluster and prints its admin URL;
# `scripts/postgres.sh restart` restarts it (a fault test's doing);
# `scripts/postgres.sh stop` stops it and removes the folder. PostgreSQL
# refuses to run as root: as root, the cluster runs as `postgres`.
set -euo pipefail
dir=${LUCENT_PG_DIR:-/tmp/lucent-test-postgres}
port=${LUCENT_PG_PORT:-54330}

as_owner() {
    if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

bin_dir() {
    local initdb
    initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
    [ -n "$initdb" ] || initdb=$(command -v initdb || true)
    [ -n "$initdb" ] && dirname "$initdb"
}

case "${1:-}" in
start)
    if [ -z "$(bin_dir)" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi
    bin=$(bin_dir)
    "$0" stop
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "'$bin/initdb' -D '$dir/data' -A trust -U postgres" >/dev/null
    as_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/log' -w \
        -o \"-k '$dir' -p $port -c listen_addresses=127.0.0.1 -c max_connections=300\" start" >/dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
restart)
    as_owner "'$(bin_dir)/pg_ctl' -D '$dir/data' -m fast -w restart" >/dev/null
    ;;
stop)
    bin=$(bin_dir)
    if [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "'$bin/pg_ctl' -D '$dir/data' -m fast -w stop" >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|restart|stop" >&2
    exit 2
    ;;
esac
