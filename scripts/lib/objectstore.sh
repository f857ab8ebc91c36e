# The local S3-API object store (media files), built from tools/objectstore (gofakes3 with a bbolt
# data file) with the Go that scripts/infra.sh finds or fetches (find_go), sourced by scripts/infra.sh. Production points OBJECT_STORE_URL at a real S3 or MinIO.

OBJECT_STORE_PORT="${OBJECT_STORE_PORT:-9000}"
# The store's own bound on one object (the platform's MEDIA_MAX_BYTES is checked first and is lower).
OBJECT_STORE_MAX_BYTES="${OBJECT_STORE_MAX_BYTES:-67108864}"
OBJECT_STORE_DIR="$DATA_DIR/objectstore"
OBJECT_STORE_BIN="$BIN_DIR/objectstore"
OBJECT_STORE_SRC="$ROOT/tools/objectstore"
OBJECT_STORE_PID_FILE="$RUN_DIR/objectstore.pid"
OBJECT_STORE_LOG="$LOG_DIR/objectstore.log"

objectstore_build() {
    if [[ -x "$OBJECT_STORE_BIN" && -z "$(find "$OBJECT_STORE_SRC" -newer "$OBJECT_STORE_BIN" -type f -print -quit)" ]]; then
        return 0
    fi
    local go
    go="$(find_go)"
    say "objectstore: building ${OBJECT_STORE_BIN#"$ROOT"/} (first time: downloads modules)"
    mkdir -p "$BIN_DIR"
    (cd "$OBJECT_STORE_SRC" && GOTOOLCHAIN=local CGO_ENABLED=0 "$go" build -trimpath -o "$OBJECT_STORE_BIN.tmp" .)
    mv -f "$OBJECT_STORE_BIN.tmp" "$OBJECT_STORE_BIN"
}

# Up once it accepts connections (no curl needed: bash's own /dev/tcp, as for the other servers).
objectstore_up() { port_open "$OBJECT_STORE_PORT"; }

objectstore_start() {
    local pid
    if pid="$(our_pid "$OBJECT_STORE_PID_FILE" objectstore)"; then
        say "objectstore: already running (pid $pid, http://127.0.0.1:$OBJECT_STORE_PORT)"
        return 0
    fi
    port_open "$OBJECT_STORE_PORT" && die "objectstore: port $OBJECT_STORE_PORT is taken by another program"
    objectstore_build
    mkdir -p "$OBJECT_STORE_DIR" "$LOG_DIR" "$RUN_DIR"
    say "objectstore: starting on 127.0.0.1:$OBJECT_STORE_PORT (data: ${OBJECT_STORE_DIR#"$ROOT"/})"
    launch "$OBJECT_STORE_PID_FILE" "$OBJECT_STORE_LOG" "$OBJECT_STORE_DIR" "$OBJECT_STORE_BIN" \
        -listen-addr "127.0.0.1:$OBJECT_STORE_PORT" -data-dir "$OBJECT_STORE_DIR" -max-object-bytes "$OBJECT_STORE_MAX_BYTES"
    pid="$(read_pid "$OBJECT_STORE_PID_FILE")"
    for _ in $(seq 1 50); do
        objectstore_up && { say "objectstore: ready (pid $pid)"; return 0; }
        pid_alive "$pid" || { tail_log "$OBJECT_STORE_LOG"; die "objectstore: exited during start-up"; }
        sleep 0.2
    done
    tail_log "$OBJECT_STORE_LOG"
    die "objectstore: no answer after 10s"
}

objectstore_stop() {
    if our_pid "$OBJECT_STORE_PID_FILE" objectstore >/dev/null; then
        say "objectstore: stopping"
        stop_pid objectstore "$OBJECT_STORE_PID_FILE" objectstore 10
    else
        say "objectstore: not running"
    fi
}

objectstore_status() {
    local pid
    if pid="$(our_pid "$OBJECT_STORE_PID_FILE" objectstore)"; then
        printf '%-9s %s\n' objectstore "running (pid $pid, http://127.0.0.1:$OBJECT_STORE_PORT)"
    else
        printf '%-9s %s\n' objectstore "stopped"
        return 1
    fi
}
