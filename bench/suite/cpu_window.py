"""CPU use of processes over a measured window, as a percentage of one core (bench/workers/cpu.py),
including the broker's and the MongoDB-compatible server's."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from cpu import cpu_seconds, pid_listening_on, run_queue_seconds  # bench/workers/cpu.py
from harness.infra import MONGO_URI, RABBIT_PORT, REDIS_BASE


def _cpu(pid: int) -> float | None:
    try:
        return cpu_seconds(pid)
    except OSError:  # the process has gone
        return None


def _waited(pid: int) -> float | None:
    try:
        return run_queue_seconds(pid)
    except OSError:
        return None


def _percent(now: float | None, then: float | None, wall: float) -> float | None:
    return round(100 * (now - then) / wall, 1) if now is not None and then is not None else None


class CpuWindow:
    """`with CpuWindow({"gateway": pid, ...}) as cpu: ...`, then `cpu.result` = {name: % of one core}, and
    `cpu.waiting` = {name: % of the window its threads were runnable but waiting for a core}."""

    def __init__(self, pids: dict[str, int | None], servers: bool = True):
        self.pids = {name: pid for name, pid in pids.items() if pid}
        if servers:
            self.pids["rabbitmq"] = pid_listening_on(RABBIT_PORT)
            self.pids["mongodb"] = pid_listening_on(urlsplit(MONGO_URI).port or 27017)
            self.pids["redis"] = pid_listening_on(urlsplit(REDIS_BASE).port or 6379)
            self.pids = {name: pid for name, pid in self.pids.items() if pid}
        self.result: dict[str, float | None] = {}
        self.waiting: dict[str, float | None] = {}

    def __enter__(self) -> "CpuWindow":
        self._start = {name: _cpu(pid) for name, pid in self.pids.items()}
        self._waited = {name: _waited(pid) for name, pid in self.pids.items()}
        self._wall = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.monotonic() - self._wall
        for name, pid in self.pids.items():
            self.result[name] = _percent(_cpu(pid), self._start[name], wall)
            self.waiting[name] = _percent(_waited(pid), self._waited[name], wall)
