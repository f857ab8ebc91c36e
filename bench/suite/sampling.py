"""py-spy sampling of the platform's processes through a measured window: raw stacks per process, for
reading in a terminal or folding into a flame graph (slows each sampled process a little)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def start_sampling(pid: int, name: str, log_dir: Path, seconds: float) -> subprocess.Popen:
    log_dir.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(spy), "record", "--pid", str(pid), "--duration", str(int(seconds) + 2),
                             "--rate", "100", "--nonblocking", "--format", "raw", "-o",
                             str(log_dir / f"{name}.stacks")],
                            stdout=subprocess.DEVNULL, stderr=open(log_dir / "py-spy.log", "ab"))


def sample_all(pids: dict[str, int], log_dir: Path, seconds: float) -> list[subprocess.Popen]:
    """One sampler per process; wait for each once the window ends."""
    return [start_sampling(pid, name, log_dir, seconds) for name, pid in pids.items()]
