"""CPU use of a process from /proc (Linux), as a percentage of one core over a window."""

from __future__ import annotations

import os
import re
import subprocess
import time

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        # Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pid_listening_on(port: int) -> int | None:
    """The process listening on a local TCP port (the broker, the database), from `ss`."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    match = re.search(r"pid=(\d+)", out)
    return int(match.group(1)) if match else None


class CpuMeter:
    def __init__(self, pid: int | None):
        self.pid = pid
        self._start: tuple[float, float] | None = None

    def start(self) -> None:
        if self.pid is not None:
            self._start = (cpu_seconds(self.pid), time.monotonic())

    def stop(self) -> float | None:
        if self.pid is None or self._start is None:
            return None
        cpu, wall = self._start
        return round(100 * (cpu_seconds(self.pid) - cpu) / (time.monotonic() - wall), 1)


def run_queue_seconds(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a core (/proc/<pid>/task/*/schedstat,
    second field): CPU time says how much work a process did, this how long the machine kept it from
    doing more."""
    waited = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                waited += int(stat.read().split()[1])
        except (OSError, IndexError, ValueError):  # a thread that ended meanwhile
            continue
    return waited / 1e9
