#!/usr/bin/env bash
# Runs the whole platform locally: infrastructure (scripts/infra.sh) plus the five services and
# the worker simulator, each a background process with .local/log/<name>.log and
# .local/run/<name>.pid.
#
#   scripts/platform.sh up                 bootstrap, start infra and processes, wait until ready
#   scripts/platform.sh down               stop the processes, then the infrastructure
#   scripts/platform.sh status             each process and the infrastructure; exit 1 if any is down
#   scripts/platform.sh logs [-f] [NAME..] last lines of the logs (-f: follow)
#
# WORKER=whatsapp (make up WORKER=whatsapp) runs the real WhatsApp worker (workers/whatsapp,
# port 8091) instead of the simulator: link a real phone; needs access to WhatsApp. Its client is the
# whatsmeow bridge (built here first), or WHATSAPP_CLIENT=neonize.
#
# Configuration comes from the services' defaults; an optional .env file at the repository root
# (KEY=value lines) is loaded into their environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_DIR="$ROOT/.local/log"
RUN_DIR="$ROOT/.local/run"
PYTHON="$ROOT/.venv/bin/python"
READY_TIMEOUT="${READY_TIMEOUT:-60}"
STOP_GRACE=10

# name | python module | port | readiness path
PROCESSES=(
    "gateway|wagw_gateway|8080|/readyz"
    "session-orchestrator|wagw_session_orchestrator|8081|/readyz"
    "worker-registry|wagw_worker_registry|8082|/readyz"
    "webhook-dispatcher|wagw_webhook_dispatcher|8083|/readyz"
    "realtime|wagw_realtime|8084|/readyz"
    "worker-simulator|wagw_worker_simulator|8090|/readyz"
)
WHATSAPP_WORKER="worker-whatsapp|wagw_worker_whatsapp|8091|/readyz"
# The worker not chosen now: `down` stops it too, whichever was started last time.
OTHER_WORKER="$WHATSAPP_WORKER"
case "${WORKER:-simulator}" in
    simulator) ;;
    whatsapp)
        OTHER_WORKER="${PROCESSES[${#PROCESSES[@]} - 1]}"
        PROCESSES[${#PROCESSES[@]} - 1]="$WHATSAPP_WORKER"
        ;;
    *) printf 'platform: ERROR: WORKER must be simulator or whatsapp, not %s\n' "$WORKER" >&2; exit 2 ;;
esac

# The optional .env goes into this script's environment, so infra.sh (RABBITMQ_PORT, ...) and
# every process started below see the same settings.
if [[ -f "$ROOT/.env" ]]; then
    set -a
    # shellcheck disable=SC1091
    source "$ROOT/.env"
    set +a
fi
# Infrastructure on non-default ports: point the services at it unless told otherwise.
[[ -n "${RABBITMQ_PORT:-}" ]] && export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/}"
[[ -n "${MONGO_PORT:-}" ]] && export MONGODB_URI="${MONGODB_URI:-mongodb://127.0.0.1:$MONGO_PORT/}"
[[ -n "${REDIS_PORT:-}" ]] && export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
# A laptop run: the services may use the published development JWT_SECRET (they refuse it otherwise).
export DEVELOPMENT_MODE="${DEVELOPMENT_MODE:-true}"

say() { printf 'platform: %s\n' "$*"; }
die() { printf 'platform: ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/lib/processes.sh
source "$ROOT/scripts/lib/processes.sh"

# field ENTRY N: the Nth (1-based) |-separated field of a PROCESSES entry.
field() { cut -d'|' -f"$2" <<<"$1"; }

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

# running_pid NAME MODULE: print the pid of NAME if it is alive and really runs MODULE (a stale pid
# file must never make us signal an unrelated process).
running_pid() {
    local name="$1" module="$2" file pid
    file="$(pid_file "$name")"
    [[ -s "$file" ]] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$module" || return 1
    echo "$pid"
}

# http_ok URL: GET answers 200 (never through an http_proxy from the environment).
http_ok() {
    "$PYTHON" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open(sys.argv[1], timeout=2) as resp:
    sys.exit(0 if resp.status == 200 else 1)
PY
}

tail_log() {
    printf -- '----- last lines of %s -----\n' "${1#"$ROOT"/}" >&2
    tail -n 40 "$1" >&2 2>/dev/null || true
}

start_process() {
    local name="$1" module="$2" log pid_f
    log="$(log_file "$name")"
    pid_f="$(pid_file "$name")"
    printf '\n===== %s: scripts/platform.sh up =====\n' "$(date '+%F %T')" >>"$log"
    launch "$pid_f" "$log" "$ROOT" "$PYTHON" -m "$module"
    say "$name: started (pid $(tr -dc '0-9' <"$pid_f"), log .local/log/$name.log)"
}

stop_process() {
    local name="$1" module="$2" pid i
    if ! pid="$(running_pid "$name" "$module")"; then
        rm -f "$(pid_file "$name")"
        return 0
    fi
    say "$name: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq $((STOP_GRACE * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name: still running after ${STOP_GRACE}s, sending SIGKILL"
        # The whole process group: the process is its leader (setsid) and may have children.
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pid_file "$name")"
}

worker_line() {
    if [[ "${WORKER:-simulator}" == whatsapp ]]; then
        echo "  WhatsApp worker health   http://127.0.0.1:8091/healthz (worker id wa-worker-1; link a real phone)"
    else
        echo "  Worker simulator control http://127.0.0.1:8090   (worker id sim-worker-1)"
    fi
}

summary() {
    cat <<EOF

The platform is up.
  Gateway (REST API)       http://127.0.0.1:8080
  Realtime (Socket.IO)     http://127.0.0.1:8084
$(worker_line)
  RabbitMQ management      http://127.0.0.1:15672  (guest / guest)
  Logs                     .local/log/<name>.log   (scripts/platform.sh logs [-f] [name])
  Stop                     make down

A first walk through the API (README.md, "Walkthrough with curl"; paste it into a shell):
EOF
    # Printed from the README itself, so what a new user sees is what the tests run.
    sed -n '/^<!-- walkthrough -->$/,/^```$/p' "$ROOT/README.md" | sed '1,2d;$d' | sed 's/^/    /'
}

cmd_up() {
    "$ROOT/scripts/bootstrap.sh"
    "$ROOT/scripts/infra.sh" start
    # The WhatsApp worker's default client is the whatsmeow bridge: built now, since on a fresh machine
    # Go arrives with the infrastructure (after the bootstrap above, which found none).
    if [[ "${WORKER:-simulator}" == whatsapp && "${WHATSAPP_CLIENT:-whatsmeow}" == whatsmeow ]]; then
        "$ROOT/scripts/bootstrap.sh" --bridge
    fi
    mkdir -p "$LOG_DIR" "$RUN_DIR"

    local entry name module port path pid started=()
    for entry in "${PROCESSES[@]}"; do
        name="$(field "$entry" 1)"
        module="$(field "$entry" 2)"
        port="$(field "$entry" 3)"
        if pid="$(running_pid "$name" "$module")"; then
            say "$name: already running (pid $pid)"
            continue
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            die "$name: port $port is already taken by another process (see: ss -ltnp 'sport = :$port')"
        fi
        start_process "$name" "$module"
        started+=("$name")
    done

    # Wait for every process at once: each must answer its readiness URL with 200.
    local deadline=$((SECONDS + READY_TIMEOUT)) pending=("${PROCESSES[@]}") still failed=()
    say "waiting up to ${READY_TIMEOUT}s for readiness"
    while ((${#pending[@]} > 0)); do
        still=()
        for entry in "${pending[@]}"; do
            name="$(field "$entry" 1)"
            module="$(field "$entry" 2)"
            port="$(field "$entry" 3)"
            path="$(field "$entry" 4)"
            if http_ok "http://127.0.0.1:$port$path"; then
                say "$name: ready on http://127.0.0.1:$port"
            elif ! running_pid "$name" "$module" >/dev/null; then
                say "$name: EXITED during start-up"
                failed+=("$name")
            else
                still+=("$entry")
            fi
        done
        pending=("${still[@]}")
        ((${#pending[@]} == 0)) && break
        if ((SECONDS >= deadline)); then
            for entry in "${pending[@]}"; do
                name="$(field "$entry" 1)"
                say "$name: NOT READY after ${READY_TIMEOUT}s ($(field "$entry" 4) on port $(field "$entry" 3))"
                failed+=("$name")
            done
            break
        fi
        sleep 1
    done

    if ((${#failed[@]} > 0)); then
        for name in "${failed[@]}"; do tail_log "$(log_file "$name")"; done
        die "not ready: ${failed[*]} (the others keep running; 'make down' stops everything)"
    fi
    summary
}

cmd_down() {
    local i entry
    stop_process "$(field "$OTHER_WORKER" 1)" "$(field "$OTHER_WORKER" 2)"
    # Reverse order: the worker and the edge services go before what they depend on.
    for ((i = ${#PROCESSES[@]} - 1; i >= 0; i--)); do
        entry="${PROCESSES[i]}"
        stop_process "$(field "$entry" 1)" "$(field "$entry" 2)"
    done
    "$ROOT/scripts/infra.sh" stop
}

cmd_status() {
    local rc=0 entry name module port path pid state
    for entry in "${PROCESSES[@]}"; do
        name="$(field "$entry" 1)"
        module="$(field "$entry" 2)"
        port="$(field "$entry" 3)"
        path="$(field "$entry" 4)"
        if pid="$(running_pid "$name" "$module")"; then
            if [[ -x "$PYTHON" ]] && http_ok "http://127.0.0.1:$port$path"; then
                state="running (pid $pid, http://127.0.0.1:$port, $path 200)"
            else
                state="NOT READY (pid $pid, $path on port $port does not answer 200)"
                rc=1
            fi
        else
            state="stopped"
            rc=1
        fi
        printf '%-20s %s\n' "$name" "$state"
    done
    "$ROOT/scripts/infra.sh" status || rc=1
    return "$rc"
}

cmd_logs() {
    local follow="" names=() files=() name
    for name in "$@"; do
        if [[ "$name" == -f ]]; then follow=1; else names+=("$name"); fi
    done
    if ((${#names[@]} == 0)); then
        local entry
        for entry in "${PROCESSES[@]}"; do names+=("$(field "$entry" 1)"); done
    fi
    for name in "${names[@]}"; do
        [[ -f "$(log_file "$name")" ]] && files+=("$(log_file "$name")")
    done
    ((${#files[@]} > 0)) || die "no log files yet in .local/log"
    if [[ -n "$follow" ]]; then
        exec tail -n 20 -F "${files[@]}"
    fi
    tail -n 20 "${files[@]}"
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    logs)
        shift
        cmd_logs "$@"
        ;;
    *)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
