#!/usr/bin/env bash
# Installs what the platform and its tests need on this machine:
#   1. Debian packages (the servers, Python's venv module, ...) when missing;
#   2. the virtualenv .venv with requirements/dev.txt (the pinned runtime + test tools + every
#      package of this repository in editable mode);
#   3. the npm tools the tests use (tools/asyncapi), from their lock file;
#   4. the WhatsApp worker's whatsmeow bridge (.local/bin/wagw-whatsmeow) when Go is here and its
#      sources changed (tools/whatsmeow-bridge/build.sh; scripts/infra.sh finds or fetches Go).
# Fast when nothing changed: .venv/.bootstrap-stamp holds a hash of requirements/*.txt and every
# pyproject.toml, and pip only runs when that hash changes.
#
#   scripts/bootstrap.sh            packages + venv
#   scripts/bootstrap.sh --system   Debian packages only (used by scripts/infra.sh)
#   scripts/bootstrap.sh --bridge   the whatsmeow bridge only, an error without Go (used by
#                                   scripts/platform.sh after scripts/infra.sh, which fetches Go)
#
# REQUIREMENTS (default requirements/dev.txt) selects another requirements file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQUIREMENTS="${REQUIREMENTS:-requirements/dev.txt}"
STAMP="$VENV/.bootstrap-stamp"

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }

# ----------------------------------------------------------------------------------------------
# Debian packages. Each entry is "package:check", where check is a command that succeeds when the
# package's feature is already present (so a Python or Go installed some other way is respected).
# ----------------------------------------------------------------------------------------------
SYSTEM_PACKAGES=(
    "rabbitmq-server:test -x /usr/lib/rabbitmq/bin/rabbitmq-server"
    "redis-server:command -v redis-server"
    "redis-tools:command -v redis-cli"
    "python3:command -v python3"
    "python3-venv:debian_venv_ok"
    "ca-certificates:test -s /etc/ssl/certs/ca-certificates.crt"
    "iproute2:command -v ss"
    "make:command -v make"
    # ---- more system packages for the tests go here, e.g. a browser for UI tests: ----
    "chromium:command -v chromium"
    # Node runs the AsyncAPI Initiative's parser over docs/asyncapi.yaml (tools/asyncapi).
    "nodejs:command -v node"
    "npm:command -v npm"
    # The WhatsApp worker's shared credential store (scripts/lib/postgres.sh).
    "postgresql:ls -d /usr/lib/postgresql/*/bin"
    # The compose stack run with podman (scripts/images.sh, scripts/compose.sh): podman with the
    # runc runtime, debootstrap for the Debian base image. podman-compose comes from PyPI (dev.txt).
    "podman:command -v podman"
    "runc:command -v runc"
    "debootstrap:command -v debootstrap"
    # promtool checks the alert rules and the Prometheus configuration (tests/integration).
    "prometheus:command -v promtool"
)
# The real WhatsApp worker converts and inspects media with ffmpeg (voice notes, stickers, video,
# thumbnails; its image has it too): installed only when it is the worker run (make up WORKER=whatsapp)
# and for the tests, which run it too (scripts/test.sh).
if [[ "${WORKER:-}" == whatsapp ]]; then
    SYSTEM_PACKAGES+=("ffmpeg:command -v ffmpeg && command -v ffprobe")
fi

# Debian's own python3 can only create a venv with python3-venv installed (its ensurepip is cut
# out); a Python built elsewhere (pyenv, /usr/local) ships ensurepip itself.
debian_venv_ok() {
    [[ "$(python3 -c 'import sys; print(sys.base_prefix)')" != /usr ]] && return 0
    dpkg-query -W -f='${Status}' "python3-venv" 2>/dev/null | grep -q 'install ok installed'
}

as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root to run: $*"
    fi
}

install_system_packages() {
    local entry pkg check missing=()
    for entry in "${SYSTEM_PACKAGES[@]}"; do
        pkg="${entry%%:*}"
        check="${entry#*:}"
        if ! (eval "$check") >/dev/null 2>&1; then
            missing+=("$pkg")
        fi
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Package scripts must not start the services (there is no systemd, and a system-wide
    # RabbitMQ or Redis would take the ports our own servers use): policy-rc.d answering 101
    # ("action forbidden") is Debian's switch for that.
    local policy=/usr/sbin/policy-rc.d made_policy=""
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    as_root apt-get update -q || rc=$?
    if ((rc == 0)); then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" || rc=$?
    fi
    [[ -n "$made_policy" ]] && as_root rm -f "$policy"
    ((rc == 0)) || die "apt-get failed (exit $rc)"
}

# ----------------------------------------------------------------------------------------------
# Python virtualenv
# ----------------------------------------------------------------------------------------------

# requirements_hash: changes whenever anything pip would install differently changes.
requirements_hash() {
    (
        cd "$ROOT"
        echo "python=$(python3 -c 'import sys; print(sys.version)')"
        echo "requirements=$REQUIREMENTS"
        find requirements -maxdepth 1 -name '*.txt' -type f
        find . -name pyproject.toml -type f -not -path './.venv/*' -not -path './.local/*' \
            -not -path '*/node_modules/*' -not -path './.git/*'
    ) | LC_ALL=C sort | while IFS= read -r line; do
        echo "$line"
        if [[ -f "$ROOT/$line" ]]; then sha256sum "$ROOT/$line" | cut -d' ' -f1; fi
    done | sha256sum | cut -d' ' -f1
}

setup_venv() {
    [[ -f "$ROOT/$REQUIREMENTS" ]] || die "$REQUIREMENTS not found"
    if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        say "creating .venv with $(python3 --version)"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi
    local want
    want="$(requirements_hash)"
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
        say ".venv is up to date"
        return 0
    fi
    say "installing $REQUIREMENTS into .venv"
    rm -f "$STAMP"
    # pip resolves -e paths relative to the current directory, hence the cd.
    (
        cd "$ROOT"
        export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off
        "$VENV/bin/python" -m pip install -q -r "$REQUIREMENTS"
    )
    echo "$want" >"$STAMP"
    say ".venv ready"
}

# The npm tools of the tests (tools/asyncapi), installed from their lock file when it changed.
setup_node_tools() {
    local dir="$ROOT/tools/asyncapi" want
    [[ -f "$dir/package-lock.json" ]] || return 0
    want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
    if [[ -f "$dir/node_modules/.bootstrap-stamp" && "$(cat "$dir/node_modules/.bootstrap-stamp")" == "$want" ]]; then
        return 0
    fi
    say "installing the npm tools of tools/asyncapi"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed in tools/asyncapi"
    echo "$want" >"$dir/node_modules/.bootstrap-stamp"
}

# The whatsmeow bridge, rebuilt when missing or older than a file of its sources. Without Go it is left
# out (said once): only a worker run with WHATSAPP_CLIENT=whatsmeow needs it, and that one says so.
setup_whatsmeow_bridge() {
    local required="${1:-}" program="$ROOT/.local/bin/wagw-whatsmeow" src="$ROOT/workers/whatsapp/bridge" go=""
    if [[ -x "$program" && -z "$(find "$src" "$ROOT/tools/whatsmeow-bridge" -newer "$program" -type f -print -quit)" ]]; then
        return 0
    fi
    for candidate in "$(command -v go || true)" /usr/local/go/bin/go "$ROOT/.local/go/bin/go"; do
        [[ -n "$candidate" && -x "$candidate" ]] && { go="$candidate"; break; }
    done
    if [[ -z "$go" && -n "$required" ]]; then
        die "no Go here to build the whatsmeow bridge: scripts/infra.sh start fetches it (or install Go)"
    elif [[ -z "$go" ]]; then
        say "no Go here: the whatsmeow bridge is not built (scripts/infra.sh start fetches Go, then run this again)"
        return 0
    fi
    say "building the whatsmeow bridge with $("$go" env GOVERSION)"
    GO="$go" "$ROOT/tools/whatsmeow-bridge/build.sh" "$program" || die "the whatsmeow bridge did not build"
}

case "${1:-}" in
    --system)
        install_system_packages
        ;;
    --bridge)
        setup_whatsmeow_bridge required
        ;;
    "")
        install_system_packages
        setup_venv
        setup_node_tools
        setup_whatsmeow_bridge
        ;;
    *)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
