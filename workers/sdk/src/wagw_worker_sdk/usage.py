"""The process's own CPU and memory use, reported with each heartbeat."""

from __future__ import annotations

import os
import resource
import time
from typing import Protocol


class Usage(Protocol):
    def snapshot(self) -> tuple[float, float]:
        """(cpu_percent, memory_mb) now."""


class ProcessUsage:
    """CPU as a percentage of one core (may exceed 100) since the last look, and resident memory.
    Several callers within `min_window` seconds share one measurement."""

    def __init__(self, min_window: float = 1.0) -> None:
        self.min_window = min_window
        self._cpu = time.process_time()
        self._wall = time.monotonic()
        self._last = (0.0, self.memory_mb())

    def cpu_percent(self) -> float:
        cpu, wall = time.process_time(), time.monotonic()
        elapsed = wall - self._wall
        percent = 100.0 * (cpu - self._cpu) / elapsed if elapsed > 0 else 0.0
        self._cpu, self._wall = cpu, wall
        return round(max(percent, 0.0), 2)

    def snapshot(self) -> tuple[float, float]:
        if time.monotonic() - self._wall >= self.min_window:
            self._last = (self.cpu_percent(), self.memory_mb())
        return self._last

    @staticmethod
    def memory_mb() -> float:
        try:
            with open("/proc/self/statm") as statm:
                resident_pages = int(statm.read().split()[1])
            return round(resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
        except (OSError, ValueError, IndexError):
            # Not Linux: the peak is the best the standard library offers (kilobytes on Linux, bytes on macOS).
            return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class ShareOfProcessUsage:
    """For many simulated workers in one process: each reports an equal share of the process's use."""

    def __init__(self, process: ProcessUsage, workers: int) -> None:
        self.process = process
        self.workers = max(1, workers)

    def snapshot(self) -> tuple[float, float]:
        cpu, memory = self.process.snapshot()
        return round(cpu / self.workers, 3), round(memory / self.workers, 2)
