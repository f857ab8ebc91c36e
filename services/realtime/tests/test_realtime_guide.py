"""The frontend guide's JavaScript client example stays valid JavaScript (`node --check`)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from wagw_realtime.protocol import AUTH_ENDED, AUTH_EXPIRING, REQUESTS

pytestmark = pytest.mark.unit
GUIDE = Path(__file__).resolve().parents[3] / "docs" / "realtime.md"


def example() -> str:
    return GUIDE.read_text().split("<!-- js-example -->", 1)[1].split("```js", 1)[1].split("```", 1)[0]


def test_the_js_example_handles_what_the_server_sends_and_accepts():
    code = example()
    for name in (AUTH_EXPIRING, AUTH_ENDED, "connect_error", *(r.name for r in REQUESTS)):
        assert f'"{name}"' in code, name


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_js_example_parses(tmp_path):
    path = tmp_path / "example.mjs"
    path.write_text(example())
    result = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
