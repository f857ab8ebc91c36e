#!/usr/bin/env bash
# Build the WhatsApp worker's whatsmeow bridge (workers/whatsapp/bridge) from the Go module proxy: the
# modules go.mod pins, checked against go.sum; nothing of them is kept in git. cgo is on: whatsmeow's
# SQLite store uses mattn/go-sqlite3 (a C compiler is needed; the worker's image builds it in a Go stage).
#
# usage: build.sh [output binary]   (default .local/bin/wagw-whatsmeow; GO may name the go command to use)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/.local/bin/wagw-whatsmeow}"
go="${GO:-go}"

mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
(cd "$root/workers/whatsapp/bridge" && CGO_ENABLED=1 "$go" build -trimpath -o "$out.tmp" .)
"$out.tmp" --version >/dev/null || { echo "the built bridge does not run" >&2; exit 1; }
mv -f "$out.tmp" "$out"
