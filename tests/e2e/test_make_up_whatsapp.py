"""`make up WORKER=whatsapp` as a person runs it, in a copy of the repository inside a network
namespace of its own: its servers and processes take the usual ports on a loopback of their own, so
the development servers are left alone, and nothing outside (WhatsApp included) can be reached. Every
process must be ready and the real worker registered; `make down` must leave nothing running."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness.infra import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

# Inside the namespace: its loopback up, then the two commands, `make down` whatever happens.
SCRIPT = """
set -u
ip link set lo up
trap 'make down WORKER=whatsapp >.local/down.log 2>&1; echo "down rc=$?"' EXIT
make up WORKER=whatsapp >.local/up.log 2>&1 || { echo "make up failed"; tail -n 60 .local/up.log; exit 1; }
make status WORKER=whatsapp || exit 2
.venv/bin/python -c '
import json, urllib.request
health = json.load(urllib.request.urlopen("http://127.0.0.1:8091/healthz", timeout=5))
assert health["registered"] and health["worker_id"] == "wa-worker-1", health
print("worker healthz", health)'
"""


def can_unshare_network() -> str | None:
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"cannot make a network namespace here: {probe.stderr.strip()}"


def copy_of_the_repository() -> Path:
    """The working tree's files (committed or not, never what git ignores), the same .venv and npm
    tools, and the servers built from tools/ (the namespace reaches no module proxy to build them)."""
    copy = Path(tempfile.mkdtemp(prefix="wagw-make-up-"))
    copy.chmod(0o755)  # PostgreSQL's own user must reach its data folder inside
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    (copy / ".venv").symlink_to(REPO / ".venv")
    (copy / "tools/asyncapi/node_modules").symlink_to(REPO / "tools/asyncapi/node_modules")
    (copy / ".local/bin").mkdir(parents=True)
    for server in ("ferretdb", "objectstore"):
        shutil.copy(REPO / ".local/bin" / server, copy / ".local/bin" / server)  # newer than its sources
    return copy


def test_make_up_with_the_whatsapp_worker_starts_everything_and_make_down_stops_it():
    cannot = can_unshare_network()
    if cannot:
        pytest.skip(cannot)
    # The system packages first (the worker's ffmpeg among them), while the package mirror is reachable.
    system = subprocess.run([str(REPO / "scripts/bootstrap.sh"), "--system"], env={**os.environ, "WORKER": "whatsapp"},
                            capture_output=True, text=True, timeout=600)
    assert system.returncode == 0, system.stdout + system.stderr
    copy = copy_of_the_repository()
    try:
        run = subprocess.run(["unshare", "--net", "--fork", "bash", "-c", SCRIPT], cwd=copy, capture_output=True,
                             text=True, timeout=600, env={**os.environ, "READY_TIMEOUT": "180"})
        assert run.returncode == 0, run.stdout + run.stderr
        for name in ("gateway", "session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime",
                     "worker-whatsapp", "rabbitmq", "redis", "ferretdb", "postgres", "objectstore"):
            assert name in run.stdout, f"{name} missing from make status:\n{run.stdout}"
        assert "down rc=0" in run.stdout, run.stdout + (copy / ".local/down.log").read_text()
        assert not processes_of(copy), "still running after make down"
    finally:
        for pid in processes_of(copy):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(copy, ignore_errors=True)


def processes_of(copy: Path) -> list[int]:
    """The processes whose command line names the copy (its servers and services)."""
    found = subprocess.run(["pgrep", "-f", str(copy)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]
