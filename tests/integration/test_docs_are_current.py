"""The reference parts of the README and docs/ are generated from the code; they must match it."""

import subprocess
import sys

import pytest

from harness.infra import REPO

pytestmark = pytest.mark.unit


def test_generated_documentation_is_current():
    result = subprocess.run([sys.executable, "tools/docs/generate.py", "--check"], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
