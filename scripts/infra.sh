#!/usr/bin/env bash
# Local infrastructure for development and tests: RabbitMQ, Redis, FerretDB (MongoDB wire
# protocol) and PostgreSQL (the WhatsApp worker's credential store, scripts/lib/postgres.sh), each
# started directly by this script (no systemd, no Docker), loopback only, with every byte of data
# and log under the git-ignored .local/ folder at the repository root.
#
#   scripts/infra.sh start            start whatever is not running, then check all three answer
#   scripts/infra.sh stop             stop all three
#   scripts/infra.sh status           print each one's state; exit 1 if any is down
#   scripts/infra.sh restart-broker   stop and start RabbitMQ only
#   scripts/infra.sh rabbitmqctl ...  run rabbitmqctl against our node (also: rabbitmq-diagnostics,
#                                     rabbitmq-plugins, rabbitmq-queues)
#
# Ports: RABBITMQ_PORT (5672), RABBITMQ_MANAGEMENT_PORT (15672), REDIS_PORT (6379), MONGO_PORT (27017),
# POSTGRES_PORT (5433), OBJECT_STORE_PORT (9000, the S3-API media store, scripts/lib/objectstore.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$ROOT/.local"
BIN_DIR="$LOCAL_DIR/bin"
DATA_DIR="$LOCAL_DIR/data"
LOG_DIR="$LOCAL_DIR/log"
RUN_DIR="$LOCAL_DIR/run"

RABBITMQ_PORT="${RABBITMQ_PORT:-5672}"
RABBITMQ_MANAGEMENT_PORT="${RABBITMQ_MANAGEMENT_PORT:-15672}"
REDIS_PORT="${REDIS_PORT:-6379}"
MONGO_PORT="${MONGO_PORT:-27017}"

RMQ_NODE="rabbit@localhost"
RMQ_DIR="$DATA_DIR/rabbitmq"
RMQ_PID_FILE="$RUN_DIR/rabbitmq.pid"
RMQ_CONSOLE_LOG="$LOG_DIR/rabbitmq.log"        # the node's stdout/stderr
RMQ_LOG_DIR="$RMQ_DIR/log"                     # the node's own log files
RMQ_WAIT_SECONDS=90
# Debian's /usr/sbin/rabbitmq-* wrappers `cd /var/lib/rabbitmq` and `su rabbitmq` when run as
# root, which would put the node's files outside .local/ and make it unreachable from our cookie;
# the real scripts underneath run fine as root, so we call them directly.
RMQ_SBIN="/usr/lib/rabbitmq/bin"

REDIS_DIR="$DATA_DIR/redis"
REDIS_PID_FILE="$RUN_DIR/redis.pid"
REDIS_LOG="$LOG_DIR/redis.log"

MONGO_DIR="$DATA_DIR/mongo"
FERRETDB_BIN="$BIN_DIR/ferretdb"
FERRETDB_SRC="$ROOT/tools/ferretdb"
FERRETDB_PID_FILE="$RUN_DIR/ferretdb.pid"
FERRETDB_LOG="$LOG_DIR/ferretdb.log"
FERRETDB_LOG_LEVEL="${FERRETDB_LOG_LEVEL:-warn}"
# The Go toolchain fetched from the Go module proxy (module golang.org/toolchain) when the machine
# has no Go recent enough for tools/ferretdb/go.mod.
GO_MIN_MINOR=24
GO_FALLBACK_VERSION="1.24.13"

say() { printf 'infra: %s\n' "$*"; }
die() { printf 'infra: ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/lib/processes.sh
source "$ROOT/scripts/lib/processes.sh"
# shellcheck source=scripts/lib/postgres.sh
source "$ROOT/scripts/lib/postgres.sh"
# shellcheck source=scripts/lib/objectstore.sh
source "$ROOT/scripts/lib/objectstore.sh"

# tail_log FILE...: show the end of log files after a failure.
tail_log() {
    local f
    for f in "$@"; do
        [[ -f "$f" ]] || continue
        printf -- '----- last lines of %s -----\n' "$f" >&2
        tail -n 40 "$f" >&2 || true
    done
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
read_pid() { if [[ -s "$1" ]]; then tr -dc '0-9' <"$1"; fi; }

# our_pid PIDFILE PATTERN: print the pid in PIDFILE if that process is alive and its command line
# contains PATTERN (a stale pid file must never make us signal an unrelated process).
our_pid() {
    local pid
    pid="$(read_pid "$1")"
    pid_alive "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
    echo "$pid"
}

# stop_pid NAME PIDFILE PATTERN [GRACE_SECONDS]: SIGTERM, wait, then SIGKILL (see our_pid).
stop_pid() {
    local name="$1" pid_file="$2" pattern="$3" grace="${4:-10}" pid
    if pid="$(our_pid "$pid_file" "$pattern")"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq $((grace * 10))); do pid_alive "$pid" || break; sleep 0.1; done
        if pid_alive "$pid"; then
            say "$name: still running after ${grace}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
    fi
    rm -f "$pid_file"
}

# --------------------------------------------------------------------------------------------
# System packages: installed by bootstrap.sh (which owns the list) when a server is missing.
# --------------------------------------------------------------------------------------------
ensure_servers_installed() {
    if [[ ! -x "$RMQ_SBIN/rabbitmq-server" ]] || ! command -v redis-server >/dev/null \
        || ! command -v redis-cli >/dev/null || ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
        say "RabbitMQ, Redis or PostgreSQL is not installed; installing the system packages"
        "$ROOT/scripts/bootstrap.sh" --system
    fi
}

# --------------------------------------------------------------------------------------------
# RabbitMQ
# --------------------------------------------------------------------------------------------

# rmq_env: export everything that makes a RabbitMQ CLI tool (or the server) talk about *our* node.
# Used by every rabbitmq* call in this file, so node name, cookie and paths always agree.
rmq_env() {
    # Erlang reads the distribution cookie from $HOME/.erlang.cookie: pointing HOME at our data
    # folder gives the server and the CLI tools the same private cookie, whoever runs them.
    export HOME="$RMQ_DIR"
    export RABBITMQ_NODENAME="$RMQ_NODE"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$RABBITMQ_PORT"
    export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
    export RABBITMQ_LOG_BASE="$RMQ_LOG_DIR"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
    export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
    # A file that does not exist: keeps /etc/rabbitmq/rabbitmq-env.conf out of the picture.
    export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/rabbitmq-env.conf"
    export RABBITMQ_PID_FILE="$RMQ_PID_FILE"
    # Loopback only, for the Erlang port mapper and for inter-node distribution as well.
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export ERL_CRASH_DUMP="$LOG_DIR/erl_crash.dump"
}

# rmq TOOL ARGS...: run a RabbitMQ CLI tool (rabbitmqctl, rabbitmq-diagnostics, ...) on our node.
rmq() {
    local tool="$1"
    shift
    [[ -x "$RMQ_SBIN/$tool" ]] || die "$RMQ_SBIN/$tool not found (is rabbitmq-server installed?)"
    rmq_cookie
    (rmq_env && exec "$RMQ_SBIN/$tool" "$@")
}

# rmq_cookie: our node's private Erlang cookie (made once; server and CLI must share it).
rmq_cookie() {
    [[ -s "$RMQ_DIR/.erlang.cookie" ]] && return 0
    mkdir -p "$RMQ_DIR"
    (umask 077 && LC_ALL=C tr -dc '[:upper:]' </dev/urandom | head -c 32 >"$RMQ_DIR/.erlang.cookie")
    chmod 400 "$RMQ_DIR/.erlang.cookie"
}

# rmq_prepare: data folder, cookie, config and enabled-plugins file (rewritten every start, so a
# change of port here takes effect).
rmq_prepare() {
    mkdir -p "$RMQ_DIR" "$RMQ_LOG_DIR" "$LOG_DIR" "$RUN_DIR"
    rmq_cookie
    # Enabling a plugin offline is just this file; no running node needed.
    echo '[rabbitmq_management].' >"$RMQ_DIR/enabled_plugins"
    cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# Written by scripts/infra.sh on every start; edits are lost.
listeners.tcp.default = 127.0.0.1:$RABBITMQ_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RABBITMQ_MANAGEMENT_PORT
# guest/guest is accepted from loopback only (RabbitMQ's default, stated for clarity).
loopback_users.guest = true
# Queue statistics in the management API refresh every second instead of every 5 (tests read them).
collect_statistics_interval = 1000
EOF
}

rmq_node_up() { rmq rabbitmq-diagnostics -q ping >/dev/null 2>&1; }
rmq_app_running() { rmq rabbitmq-diagnostics -q check_running >/dev/null 2>&1; }

# rmq_wait_ready SECONDS: the rabbit application finished booting and AMQP accepts connections.
rmq_wait_ready() {
    local timeout="$1" deadline=$((SECONDS + $1))
    if ! rmq rabbitmqctl -q await_startup --timeout "$timeout" >/dev/null 2>&1; then
        return 1
    fi
    until port_open "$RABBITMQ_PORT"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

rabbit_start() {
    if rmq_node_up; then
        if ! rmq_app_running; then
            # A test may have left the node with its application stopped (stop_app).
            say "rabbitmq: node is up but the rabbit app is stopped; running start_app"
            rmq rabbitmqctl -q start_app
        fi
        rmq_wait_ready 60 || { tail_log "$RMQ_CONSOLE_LOG"; die "rabbitmq: node answers but AMQP port $RABBITMQ_PORT does not"; }
        say "rabbitmq: already running ($RMQ_NODE, amqp://127.0.0.1:$RABBITMQ_PORT)"
        return 0
    fi
    if port_open "$RABBITMQ_PORT"; then
        die "rabbitmq: port $RABBITMQ_PORT is taken by a process that is not our node $RMQ_NODE (another RabbitMQ? try: ss -ltnp)"
    fi
    stop_pid rabbitmq "$RMQ_PID_FILE" rabbit 5 # a half-dead node from an earlier run
    rmq_prepare
    say "rabbitmq: starting $RMQ_NODE on 127.0.0.1:$RABBITMQ_PORT (log: ${RMQ_CONSOLE_LOG#"$ROOT"/}, ${RMQ_LOG_DIR#"$ROOT"/}/)"
    printf '\n===== %s: scripts/infra.sh start =====\n' "$(date '+%F %T')" >>"$RMQ_CONSOLE_LOG"
    (rmq_env && launch "$RMQ_PID_FILE" "$RMQ_CONSOLE_LOG" "$RMQ_DIR" "$RMQ_SBIN/rabbitmq-server")
    local pid deadline=$((SECONDS + RMQ_WAIT_SECONDS))
    pid="$(read_pid "$RMQ_PID_FILE")"
    until rmq_node_up; do
        if ! pid_alive "$pid"; then
            tail_log "$RMQ_CONSOLE_LOG" "$RMQ_LOG_DIR/$RMQ_NODE.log"
            die "rabbitmq: the node exited during start-up"
        fi
        if ((SECONDS >= deadline)); then
            tail_log "$RMQ_CONSOLE_LOG" "$RMQ_LOG_DIR/$RMQ_NODE.log"
            die "rabbitmq: no answer to 'rabbitmq-diagnostics ping' after ${RMQ_WAIT_SECONDS}s"
        fi
        sleep 1
    done
    local left=$((deadline - SECONDS))
    ((left > 10)) || left=10
    if ! rmq_wait_ready "$left"; then
        tail_log "$RMQ_CONSOLE_LOG" "$RMQ_LOG_DIR/$RMQ_NODE.log"
        die "rabbitmq: node is up but did not finish booting in ${RMQ_WAIT_SECONDS}s"
    fi
    say "rabbitmq: ready (pid $(read_pid "$RMQ_PID_FILE"), amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/, management http://127.0.0.1:$RABBITMQ_MANAGEMENT_PORT)"
}

rabbit_stop() {
    if [[ -x "$RMQ_SBIN/rabbitmqctl" ]] && rmq_node_up; then
        say "rabbitmq: stopping $RMQ_NODE"
        # shutdown stops the app and the Erlang VM and waits for the OS process to exit.
        rmq rabbitmqctl -q shutdown >/dev/null 2>&1 || say "rabbitmq: shutdown command failed; killing the node"
    else
        say "rabbitmq: not running"
    fi
    stop_pid rabbitmq "$RMQ_PID_FILE" rabbit 10
}

rabbit_status() {
    if ! [[ -x "$RMQ_SBIN/rabbitmqctl" ]]; then
        printf '%-9s %s\n' rabbitmq "NOT INSTALLED"
        return 1
    fi
    if ! rmq_node_up; then
        printf '%-9s %s\n' rabbitmq "stopped"
        return 1
    fi
    if ! rmq_app_running || ! port_open "$RABBITMQ_PORT"; then
        printf '%-9s %s\n' rabbitmq "DEGRADED (node $RMQ_NODE up, rabbit app stopped or AMQP port $RABBITMQ_PORT closed)"
        return 1
    fi
    printf '%-9s %s\n' rabbitmq "running (pid $(read_pid "$RMQ_PID_FILE"), amqp://127.0.0.1:$RABBITMQ_PORT, management http://127.0.0.1:$RABBITMQ_MANAGEMENT_PORT)"
}

# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------
redis_up() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]; }

redis_start() {
    if redis_up; then
        say "redis: already running (redis://127.0.0.1:$REDIS_PORT)"
        return 0
    fi
    port_open "$REDIS_PORT" && die "redis: port $REDIS_PORT is taken by something that does not answer PING"
    mkdir -p "$REDIS_DIR" "$LOG_DIR" "$RUN_DIR"
    say "redis: starting on 127.0.0.1:$REDIS_PORT (log: ${REDIS_LOG#"$ROOT"/})"
    # No persistence at all: the data is disposable and tests start from FLUSHALL anyway.
    (
        close_inherited_fds
        exec redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
            --dir "$REDIS_DIR" --logfile "$REDIS_LOG" --pidfile "$REDIS_PID_FILE"
    )
    for _ in $(seq 150); do
        redis_up && { say "redis: ready (pid $(read_pid "$REDIS_PID_FILE"))"; return 0; }
        sleep 0.2
    done
    tail_log "$REDIS_LOG"
    die "redis: no PONG after 30s"
}

redis_stop() {
    if redis_up; then
        say "redis: stopping"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        for _ in $(seq 50); do redis_up || break; sleep 0.2; done
    else
        say "redis: not running"
    fi
    stop_pid redis "$REDIS_PID_FILE" redis-server 5
}

redis_status() {
    if ! command -v redis-cli >/dev/null; then
        printf '%-9s %s\n' redis "NOT INSTALLED"
        return 1
    fi
    if redis_up; then
        printf '%-9s %s\n' redis "running (pid $(read_pid "$REDIS_PID_FILE"), redis://127.0.0.1:$REDIS_PORT)"
    else
        printf '%-9s %s\n' redis "stopped"
        return 1
    fi
}

# --------------------------------------------------------------------------------------------
# FerretDB (MongoDB wire protocol on SQLite), built from tools/ferretdb
# --------------------------------------------------------------------------------------------

# go_ok GO: GO runs and is at least 1.$GO_MIN_MINOR.
go_ok() {
    local v
    v="$("$1" env GOVERSION 2>/dev/null)" || return 1 # e.g. go1.26.8
    [[ "$v" =~ ^go([0-9]+)\.([0-9]+) ]] || return 1
    ((BASH_REMATCH[1] > 1 || BASH_REMATCH[2] >= GO_MIN_MINOR))
}

# find_go: print the path of a usable go, fetching the toolchain module from the Go module proxy
# into .local/go when the machine has none (the same download `GOTOOLCHAIN=auto` would do).
find_go() {
    local candidate
    for candidate in "$(command -v go || true)" /usr/local/go/bin/go "$LOCAL_DIR/go/bin/go"; do
        [[ -n "$candidate" && -x "$candidate" ]] && go_ok "$candidate" && { echo "$candidate"; return 0; }
    done
    local arch
    case "$(uname -m)" in
        x86_64) arch=amd64 ;;
        aarch64 | arm64) arch=arm64 ;;
        *) die "no Go >= 1.$GO_MIN_MINOR found and no known toolchain for $(uname -m)" ;;
    esac
    command -v python3 >/dev/null || "$ROOT/scripts/bootstrap.sh" --system >&2
    local proxy="${GOPROXY:-https://proxy.golang.org}"
    proxy="${proxy%%[,|]*}"
    [[ "$proxy" == http* ]] || proxy="https://proxy.golang.org"
    local module="golang.org/toolchain@v0.0.1-go$GO_FALLBACK_VERSION.linux-$arch"
    say "ferretdb: no Go >= 1.$GO_MIN_MINOR on this machine; fetching $module into .local/go" >&2
    rm -rf "$LOCAL_DIR/go"
    python3 "$ROOT/scripts/lib/fetch_go.py" "$proxy/${module%@*}/@v/${module#*@}.zip" "$module/" "$LOCAL_DIR/go" >&2
    go_ok "$LOCAL_DIR/go/bin/go" || die "the downloaded Go toolchain does not run"
    echo "$LOCAL_DIR/go/bin/go"
}

# ferretdb_sources: what the binary is built from, by content (tools/ferretdb's files).
ferretdb_sources() {
    (cd "$FERRETDB_SRC" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

# ferretdb_stale: the binary is missing or was built from other sources than tools/ferretdb's now. By
# content, not time: a binary built later from an older checkout (another branch) is stale too.
ferretdb_stale() {
    [[ ! -x "$FERRETDB_BIN" ]] || [[ "$(cat "$FERRETDB_BIN.sources" 2>/dev/null)" != "$(ferretdb_sources)" ]]
}

# ferretdb_build: (re)build the binary when stale (`make clean` keeps it). tools/ferretdb/build.sh,
# when present, knows how (it patches the FerretDB module before building); otherwise a plain
# `go build` of tools/ferretdb.
ferretdb_build() {
    ferretdb_stale || return 0
    local go sources
    sources="$(ferretdb_sources)"  # before the build: what it is built from
    go="$(find_go)"
    say "ferretdb: building ${FERRETDB_BIN#"$ROOT"/} with $("$go" env GOVERSION) (first time: downloads modules, takes a minute)"
    mkdir -p "$BIN_DIR"
    rm -f "$FERRETDB_BIN.tmp"
    if [[ -x "$FERRETDB_SRC/build.sh" ]]; then
        GO="$go" GOTOOLCHAIN=local CGO_ENABLED=0 "$FERRETDB_SRC/build.sh" "$FERRETDB_BIN.tmp"
    else
        (cd "$FERRETDB_SRC" && GOTOOLCHAIN=local CGO_ENABLED=0 "$go" build -o "$FERRETDB_BIN.tmp" .)
    fi
    [[ -x "$FERRETDB_BIN.tmp" ]] || die "ferretdb: the build produced no binary"
    mv -f "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
    echo "$sources" > "$FERRETDB_BIN.sources"
}

# mongo_ping: a real MongoDB `ping` with pymongo when the venv has it, otherwise a TCP connect.
MONGO_PY=""
mongo_ping() {
    if [[ -z "$MONGO_PY" ]]; then
        MONGO_PY=none
        if [[ -x "$ROOT/.venv/bin/python" ]] && "$ROOT/.venv/bin/python" -c 'import pymongo' 2>/dev/null; then
            MONGO_PY="$ROOT/.venv/bin/python"
        fi
    fi
    if [[ "$MONGO_PY" == none ]]; then
        port_open "$MONGO_PORT"
        return
    fi
    # (No TCP probe first: FerretDB logs a warning for every connection closed without a word.)
    "$MONGO_PY" - "$MONGO_PORT" <<'PY' 2>/dev/null
import sys
from pymongo import MongoClient

client = MongoClient("127.0.0.1", int(sys.argv[1]), serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
client.admin.command("ping")
PY
}

# ferretdb_listener_pid: pid of the process listening on MONGO_PORT, if it is our binary (for
# example one started by hand); lets start/stop adopt it instead of tripping over it.
ferretdb_listener_pid() {
    command -v ss >/dev/null || return 1
    local pid exe
    pid="$(ss -Hltnp "sport = :$MONGO_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)" || true
    [[ -n "$pid" ]] || return 1
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
    [[ "${exe% (deleted)}" == "$FERRETDB_BIN" ]] || return 1
    echo "$pid"
}

# ferretdb_pid: pid of our FerretDB, from the pid file or else from the listening socket.
ferretdb_pid() {
    our_pid "$FERRETDB_PID_FILE" ferretdb || ferretdb_listener_pid
}

ferretdb_start() {
    local pid
    # Ours, but built from older sources (or its binary replaced since): restart it on a new build,
    # so tests never run against a stale server.
    if pid="$(ferretdb_pid)" && { ferretdb_stale || [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == *" (deleted)" ]]; }; then
        say "ferretdb: tools/ferretdb changed since the running server was built; rebuilding and restarting it"
        ferretdb_build
        echo "$pid" >"$FERRETDB_PID_FILE"
        stop_pid ferretdb "$FERRETDB_PID_FILE" ferretdb 10
    fi
    if mongo_ping; then
        if pid="$(ferretdb_pid)"; then
            if [[ "$(read_pid "$FERRETDB_PID_FILE")" != "$pid" ]]; then
                mkdir -p "$RUN_DIR"
                echo "$pid" >"$FERRETDB_PID_FILE"
                say "ferretdb: adopted the ferretdb process already listening on 127.0.0.1:$MONGO_PORT"
            fi
            say "ferretdb: already running (pid $pid, mongodb://127.0.0.1:$MONGO_PORT)"
        else
            say "ferretdb: a MongoDB-compatible server not started by this script answers on 127.0.0.1:$MONGO_PORT; using it"
        fi
        return 0
    fi
    port_open "$MONGO_PORT" && die "ferretdb: port $MONGO_PORT is taken by something that does not answer a MongoDB ping"
    stop_pid ferretdb "$FERRETDB_PID_FILE" ferretdb 5 # a hung one from an earlier run
    ferretdb_build
    mkdir -p "$MONGO_DIR" "$LOG_DIR" "$RUN_DIR"
    say "ferretdb: starting on 127.0.0.1:$MONGO_PORT (data: ${MONGO_DIR#"$ROOT"/}, log: ${FERRETDB_LOG#"$ROOT"/})"
    printf '\n===== %s: scripts/infra.sh start =====\n' "$(date '+%F %T')" >>"$FERRETDB_LOG"
    launch "$FERRETDB_PID_FILE" "$FERRETDB_LOG" "$MONGO_DIR" \
        "$FERRETDB_BIN" --listen-addr "127.0.0.1:$MONGO_PORT" --data-dir "$MONGO_DIR" --log-level "$FERRETDB_LOG_LEVEL"
    pid="$(read_pid "$FERRETDB_PID_FILE")"
    for _ in $(seq 60); do
        mongo_ping && { say "ferretdb: ready (pid $pid)"; return 0; }
        pid_alive "$pid" || { tail_log "$FERRETDB_LOG"; die "ferretdb: exited during start-up"; }
        sleep 0.5
    done
    tail_log "$FERRETDB_LOG"
    die "ferretdb: no answer to a MongoDB ping after 30s"
}

ferretdb_stop() {
    local pid
    if pid="$(ferretdb_pid)"; then
        say "ferretdb: stopping (pid $pid)"
        echo "$pid" >"$FERRETDB_PID_FILE"
        stop_pid ferretdb "$FERRETDB_PID_FILE" ferretdb 10
    else
        rm -f "$FERRETDB_PID_FILE"
        if port_open "$MONGO_PORT"; then
            say "ferretdb: a server not started by this script is listening on $MONGO_PORT; left alone"
        else
            say "ferretdb: not running"
        fi
    fi
}

ferretdb_status() {
    if mongo_ping; then
        local pid
        pid="$(ferretdb_pid || echo '?, not started by infra.sh')"
        printf '%-9s %s\n' ferretdb "running (pid $pid, mongodb://127.0.0.1:$MONGO_PORT)"
    else
        printf '%-9s %s\n' ferretdb "stopped"
        return 1
    fi
}

# --------------------------------------------------------------------------------------------
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# Sourcing this file (for a quick experiment) defines the functions without running anything.
[[ "${BASH_SOURCE[0]}" == "$0" ]] || return 0

# Two callers changing the servers at once (an engineer's `make test` while a test restarts the
# broker) would trip over each other: start/stop/restart-broker run one at a time, under a lock
# that flock (-o) keeps out of the servers this script launches.
case "${1:-}" in
    start | stop | restart-broker)
        if [[ -z "${INFRA_SH_LOCKED:-}" ]] && command -v flock >/dev/null; then
            mkdir -p "$RUN_DIR"
            INFRA_SH_LOCKED=1 exec flock -o -w 900 "$RUN_DIR/infra.lock" "$ROOT/scripts/infra.sh" "$@"
        fi
        ;;
esac

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
    start)
        ensure_servers_installed
        rabbit_start
        redis_start
        ferretdb_start
        postgres_start
        objectstore_start
        say "all up: amqp://127.0.0.1:$RABBITMQ_PORT  redis://127.0.0.1:$REDIS_PORT  mongodb://127.0.0.1:$MONGO_PORT  postgresql://127.0.0.1:$POSTGRES_PORT  s3 http://127.0.0.1:$OBJECT_STORE_PORT"
        ;;
    stop)
        rabbit_stop
        if command -v redis-cli >/dev/null; then redis_stop; fi
        ferretdb_stop
        postgres_stop
        objectstore_stop
        ;;
    status)
        rc=0
        rabbit_status || rc=1
        redis_status || rc=1
        ferretdb_status || rc=1
        postgres_status || rc=1
        objectstore_status || rc=1
        exit "$rc"
        ;;
    restart-broker)
        ensure_servers_installed
        rabbit_stop
        rabbit_start
        ;;
    rabbitmqctl | rabbitmq-diagnostics | rabbitmq-plugins | rabbitmq-queues)
        rmq "$cmd" "$@"
        ;;
    -h | --help | help)
        usage
        ;;
    *)
        usage >&2
        exit 2
        ;;
esac
