"""Per-endpoint concurrency in one replica: a slow or dead endpoint holds at most `limit` of the
replica's delivery slots; a job that finds its endpoint full is put off (a short delay queue), so
the slots go to other endpoints' deliveries meanwhile."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from typing import Iterator

from prometheus_client import Gauge

IN_FLIGHT = Gauge("wagw_webhook_attempts_in_flight", "Delivery attempts running in this replica")


class EndpointGate:
    def __init__(self, limit: int):
        self.limit = limit
        self._running: Counter[str] = Counter()

    def running(self, endpoint_id: str) -> int:
        return self._running[endpoint_id]

    @contextmanager
    def enter(self, endpoint_id: str) -> Iterator[bool]:
        """Yields True with a slot held for the block, or False (and holds nothing) when the endpoint is full."""
        if self._running[endpoint_id] >= self.limit:
            yield False
            return
        self._running[endpoint_id] += 1
        IN_FLIGHT.inc()
        try:
            yield True
        finally:
            IN_FLIGHT.dec()
            self._running[endpoint_id] -= 1
            if not self._running[endpoint_id]:
                del self._running[endpoint_id]
