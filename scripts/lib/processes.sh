# shellcheck shell=bash
# Shared by scripts/infra.sh and scripts/platform.sh (sourced, not run): starting a long-lived
# server process detached from the caller. Expects ROOT and a die() function.

# close_inherited_fds: in a subshell about to exec a server, close every descriptor above 2, so the
# server holds none of the caller's pipes (a CI step or a test capturing our output would wait
# for those to close, i.e. forever).
close_inherited_fds() {
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
        fd="${fd##*/}"
        if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
}

# launch PIDFILE LOGFILE WORKDIR CMD...: start CMD in its own session (so it outlives this script
# and the terminal or CI step that ran it), stdout/stderr appended to LOGFILE. The pid is written
# by the child itself before exec, so it is the server's real pid whatever setsid does.
launch() {
    local pid_file="$1" log_file="$2" workdir="$3"
    shift 3
    rm -f "$pid_file"
    # The background subshell *execs* setsid: no shell stays behind holding our caller's stdout
    # (which would keep a `infra.sh start | tee` pipe, or a test's captured output, open forever).
    (
        cd "$workdir" || exit 1
        close_inherited_fds
        # shellcheck disable=SC2016 # $$ and $@ belong to the inner bash
        exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" "$@" >>"$log_file" 2>&1 </dev/null
    ) &
    for _ in $(seq 50); do [[ -s "$pid_file" ]] && return 0; sleep 0.1; done
    die "could not start $1 (no pid file ${pid_file#"$ROOT"/})"
}
