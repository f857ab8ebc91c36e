"""The README's curl walkthrough, run exactly as written against a gateway and a simulated worker."""

import re
import subprocess

from harness.infra import REPO


def walkthrough() -> str:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", readme, re.S)
    assert match, "the README has a walkthrough block"
    return match.group(1)


def run_walkthrough(gateway_api: str, simulator: str) -> list[str]:
    """The lines the walkthrough printed; fails with its output if any command failed."""
    env = {"GW": gateway_api, "SIM": simulator, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough()], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert "CONNECTED" in lines, result.stdout
    assert lines[-1] in {"sent", "delivered", "read"}, result.stdout
    return lines
