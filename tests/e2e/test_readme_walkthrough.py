"""The README's curl walkthrough, run exactly as written against the running platform."""

import re
import subprocess

import pytest

from harness.infra import REPO

pytestmark = pytest.mark.e2e


def walkthrough() -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", readme, re.S)
    assert match, "the README has a walkthrough block"
    return match.group(1)


def test_the_readme_walkthrough_works_as_written(platform):
    worker = next(iter(platform.workers))
    env = {"GW": platform.url("gateway") + "/api/v1", "SIM": platform.worker_url(worker), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough()], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert "CONNECTED" in lines, result.stdout
    assert lines[-1] in {"sent", "delivered", "read"}, result.stdout
