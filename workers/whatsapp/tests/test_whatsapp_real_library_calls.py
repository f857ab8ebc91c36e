"""The adapter's calls into the real library (real_library_calls.py), run in a process of their own:
whatsmeow's Go runtime keeps goroutines of a client that could not reach WhatsApp alive after it is
closed, and one of them aborted the whole test process minutes later, in an unrelated test. A worker
runs the library in its own process too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
CASES = Path(__file__).with_name("real_library_calls.py")


def test_the_adapters_calls_into_the_real_library():
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                          str(CASES)], capture_output=True, text=True, timeout=280, cwd=CASES.parents[3])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-2000:]
