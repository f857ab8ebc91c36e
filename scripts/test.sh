#!/usr/bin/env bash
# The test command (`make test`): install what is missing, start the local infrastructure, run
# pytest with the repository's configuration. Arguments go to pytest unchanged, e.g.
#   scripts/test.sh -m unit
#   scripts/test.sh tests/integration -k broker -x
# Exits with pytest's code; "no tests collected" (5) is a failure too, since nothing was checked.
# The servers are left running afterwards (scripts/infra.sh stop, or make down, stops them).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The tests run the real WhatsApp worker's media preparation too, so they need what it needs (ffmpeg).
WORKER=whatsapp "$ROOT/scripts/bootstrap.sh"
"$ROOT/scripts/infra.sh" start

args=""
(($# == 0)) || args="$(printf ' %q' "$@")"
echo "test: .venv/bin/python -m pytest$args"
rc=0
"$ROOT/.venv/bin/python" -m pytest "$@" || rc=$?

if ((rc == 5)); then
    echo "test: FAILED: pytest collected no tests (exit 5), so nothing was tested" >&2
fi
exit "$rc"
