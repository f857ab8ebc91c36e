"""The whatsmeow bridge's own tests (`go test ./...` in workers/whatsapp/bridge: the mapping of whatsmeow's
real events and messages, the message built for each type and sent with `SendRequestExtra.ID`, the device
key neonize stores, the line protocol's errors), run here so the suite runs them; and the version the
worker expects is the one the program is built to say."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from wagw_worker_whatsapp.bridge_program import BRIDGE_VERSION

pytestmark = pytest.mark.unit
BRIDGE = Path(__file__).resolve().parents[1] / "bridge"


def go_command() -> str:
    found = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if Path(p).is_file()), None)
    if found is None:
        pytest.fail("Go is needed to test the whatsmeow bridge (scripts/infra.sh start finds or fetches it)")
    return found


def test_the_bridges_go_tests_pass():
    result = subprocess.run([go_command(), "test", "-count=1", "./..."], cwd=BRIDGE, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_go_sources_are_formatted_and_vetted():
    gofmt = shutil.which("gofmt") or str(Path(go_command()).with_name("gofmt"))
    unformatted = subprocess.run([gofmt, "-l", "."], cwd=BRIDGE, capture_output=True, text=True)
    assert unformatted.returncode == 0 and unformatted.stdout == "", unformatted.stdout + unformatted.stderr
    vetted = subprocess.run([go_command(), "vet", "./..."], cwd=BRIDGE, capture_output=True, text=True, timeout=900)
    assert vetted.returncode == 0, vetted.stdout + vetted.stderr


def test_the_worker_expects_the_version_the_program_says():
    declared = re.search(r'const Version = "([^"]+)"', (BRIDGE / "version.go").read_text())
    assert declared is not None and declared.group(1) == BRIDGE_VERSION
    pinned = re.search(r"go\.mau\.fi/whatsmeow (v\S+)", (BRIDGE / "go.mod").read_text())
    assert pinned is not None and pinned.group(1) in BRIDGE_VERSION  # the number says which whatsmeow it is
