"""The process's own CPU and memory use, reported with each heartbeat."""

from __future__ import annotations

import os
import resource
import time


class ProcessUsage:
    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._wall = time.monotonic()

    def cpu_percent(self) -> float:
        """CPU used since the previous call, as a percentage of one core (may exceed 100)."""
        cpu, wall = time.process_time(), time.monotonic()
        elapsed = wall - self._wall
        percent = 100.0 * (cpu - self._cpu) / elapsed if elapsed > 0 else 0.0
        self._cpu, self._wall = cpu, wall
        return round(max(percent, 0.0), 2)

    @staticmethod
    def memory_mb() -> float:
        try:
            with open("/proc/self/statm") as statm:
                resident_pages = int(statm.read().split()[1])
            return round(resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
        except (OSError, ValueError, IndexError):
            # Not Linux: the peak is the best the standard library offers (kilobytes on Linux, bytes on macOS).
            return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
