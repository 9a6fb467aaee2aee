#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests' second pass (Debian's own package).
#
#   tests/postgres.sh install        install `postgresql` when missing (needs
#                                    the network: run it outside the test
#                                    namespace)
#   tests/postgres.sh run CMD [ARG]  start a fresh cluster in a temp folder on
#                                    a free loopback port, run CMD with
#                                    DUET_TEST_DATABASE_URL set (and
#                                    DUET_TEST_PG_STOP / _START, commands
#                                    that stop and start it), then stop the
#                                    cluster and delete it; exits with CMD's
#                                    status
#
# The URL names a role that may create databases (each test makes its own
# with `duet_server::store::scratch` and drops it) and roles (to test the
# grants docs/operating.md gives an app role). The cluster runs as the
# `postgres` user (PostgreSQL refuses to run as root) with fsync off: it
# holds nothing worth keeping.
set -euo pipefail

pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && echo "$dir"
    done | sort -V | tail -n 1
}

install() {
    if [ -n "$(pg_bin)" ]; then
        return
    fi
    echo "==> installing postgresql"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o DPkg::Lock::Timeout=600 --no-install-recommends postgresql
}

# Runs a command as the cluster's owner: `postgres` when we are root,
# else ourselves.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run() {
    local bin dir port password status options
    bin="$(pg_bin)"
    if [ -z "$bin" ]; then
        echo "no PostgreSQL here: run 'tests/postgres.sh install' first" >&2
        return 1
    fi
    dir="$(mktemp -d /tmp/duet-pg.XXXXXX)"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
    port="$(free_port)"
    password="duet-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    # Runs once whatever happens below, leaving no server and no folder.
    # shellcheck disable=SC2064 # expand now: these are this run's.
    trap "as_owner '$bin/pg_ctl' -D '$dir/data' -m immediate stop >/dev/null 2>&1 || true; rm -rf '$dir'" EXIT
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log"
    options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "$options" start >/dev/null
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE duet_test LOGIN CREATEDB CREATEROLE PASSWORD '$password'" \
        -c "CREATE DATABASE duet_test OWNER duet_test"
    export DUET_TEST_DATABASE_URL="postgres://duet_test:$password@127.0.0.1:$port/duet_test"
    # For a test of the database going away mid-call and coming back
    # (tests/tests/database_restart.rs): commands that stop this cluster
    # (fast: its connections are cut) and start it again as it was.
    local ctl="'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w"
    [ "$(id -u)" -ne 0 ] || ctl="runuser -u postgres -- $ctl"
    export DUET_TEST_PG_STOP="$ctl -m fast stop"
    export DUET_TEST_PG_START="$ctl -o '$options' start"
    echo "==> PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
    status=0
    "$@" || status=$?
    return "$status"
}

case "${1:-}" in
    install) install ;;
    run)
        shift
        run "$@"
        ;;
    *)
        echo "usage: $0 install | run CMD [ARG...]" >&2
        exit 2
        ;;
esac
