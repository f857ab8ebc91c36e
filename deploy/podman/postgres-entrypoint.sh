#!/bin/sh
# First start: the cluster, its user (password authentication over TCP) and the database, as the
# official postgres image makes them from the same variables. Then the server, in the foreground.
set -eu
: "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}" "${POSTGRES_DB:=$POSTGRES_USER}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password_file="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$password_file" --auth-host=scram-sha-256 \
        --auth-local=trust -E UTF8 >/dev/null
    rm -f "$password_file"
    # Over the socket alone while the database is made: nothing reaches a half-made cluster.
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -k /tmp" start >/dev/null
    psql -q -h /tmp -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
    pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses=127.0.0.1 -p "$POSTGRES_PORT" -k /tmp
