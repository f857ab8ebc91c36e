# shellcheck shell=bash
# PostgreSQL for scripts/infra.sh (sourced): the WhatsApp worker's device credential store (whatsmeow's
# SQL store, shared by every worker a session may move between). Debian's `postgresql` package,
# started directly (no systemd), loopback only, its own port, every byte under .local/.
# PostgreSQL refuses to run as root: as root the server and its tools run as the package's
# `postgres` user, which then owns the data folder. Expects ROOT, DATA_DIR, LOG_DIR, RUN_DIR, say, die.

POSTGRES_PORT="${POSTGRES_PORT:-5433}"  # not 5432: a PostgreSQL of the machine's own may hold that one
POSTGRES_USER_NAME="wagw"
POSTGRES_PASSWORD="wagw"  # a local development credential, like RabbitMQ's guest/guest; loopback only
POSTGRES_DATABASE="wagw_whatsapp"
PG_DIR="$DATA_DIR/postgres"
PG_SOCKET_DIR="$RUN_DIR/postgres"
PG_LOG="$LOG_DIR/postgres.log"

pg_bin() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$found" ]] || die "postgres: not installed (Debian package postgresql; scripts/bootstrap.sh installs it)"
    printf '%s' "$found"
}

# as_pg CMD...: run a PostgreSQL tool as the user that owns the data (postgres when we are root).
as_pg() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

postgres_url() {
    printf 'postgresql://%s:%s@127.0.0.1:%s/%s' "$POSTGRES_USER_NAME" "$POSTGRES_PASSWORD" "$POSTGRES_PORT" \
        "$POSTGRES_DATABASE"
}

postgres_up() { "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" 2>/dev/null; }

postgres_init() {
    [[ -s "$PG_DIR/PG_VERSION" ]] && return 0
    say "postgres: creating the cluster in ${PG_DIR#"$ROOT"/}"
    mkdir -p "$PG_DIR" "$PG_SOCKET_DIR" "$LOG_DIR"
    local password_file="$RUN_DIR/postgres.pw"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
    if [[ "$(id -u)" == 0 ]]; then chown postgres "$PG_DIR" "$PG_SOCKET_DIR" "$password_file"; fi
    chmod 700 "$PG_DIR"
    as_pg "$(pg_bin)/initdb" -D "$PG_DIR" -U "$POSTGRES_USER_NAME" --pwfile="$password_file" \
        --auth-host=scram-sha-256 --auth-local=peer -E UTF8 >/dev/null || die "postgres: initdb failed"
    rm -f "$password_file"
}

postgres_start() {
    if postgres_up; then
        say "postgres: already running ($(postgres_url | sed 's/:[^:@]*@/:***@/'))"
        return 0
    fi
    port_open "$POSTGRES_PORT" && die "postgres: port $POSTGRES_PORT is taken by something that is not PostgreSQL"
    postgres_init
    mkdir -p "$PG_SOCKET_DIR"
    touch "$PG_LOG"
    if [[ "$(id -u)" == 0 ]]; then chown postgres "$PG_SOCKET_DIR" "$PG_LOG"; fi
    say "postgres: starting on 127.0.0.1:$POSTGRES_PORT (log: ${PG_LOG#"$ROOT"/})"
    (
        close_inherited_fds
        as_pg "$(pg_bin)/pg_ctl" -D "$PG_DIR" -l "$PG_LOG" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -p $POSTGRES_PORT -k $PG_SOCKET_DIR" >/dev/null
    ) || die "postgres: did not start; see ${PG_LOG#"$ROOT"/}"
    # The worker's database, once (idempotent: a second start finds it).
    if ! PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_USER_NAME" -d postgres \
        -tAc "SELECT 1 FROM pg_database WHERE datname = '$POSTGRES_DATABASE'" | grep -q 1; then
        PGPASSWORD="$POSTGRES_PASSWORD" psql -q -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_USER_NAME" \
            -d postgres -c "CREATE DATABASE $POSTGRES_DATABASE" || die "postgres: could not create $POSTGRES_DATABASE"
    fi
    say "postgres: ready ($(postgres_url | sed 's/:[^:@]*@/:***@/'))"
}

postgres_stop() {
    if [[ -s "$PG_DIR/postmaster.pid" ]] && [[ -d "$(pg_bin 2>/dev/null)" ]]; then
        say "postgres: stopping"
        as_pg "$(pg_bin)/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null 2>&1 || say "postgres: stop failed"
    else
        say "postgres: not running"
    fi
}

postgres_status() {
    if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
        printf '%-9s %s\n' postgres "NOT INSTALLED"
        return 1
    fi
    if postgres_up; then
        printf '%-9s %s\n' postgres "running ($(postgres_url | sed 's/:[^:@]*@/:***@/'))"
    else
        printf '%-9s %s\n' postgres "stopped"
        return 1
    fi
}
