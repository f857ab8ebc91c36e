"""Gauges that describe shared state (queue depths, documents by status), computed when scraped.

A count of database state must be the same whichever replica is scraped, so it is never kept as an
in-process counter: each probe reads the broker or the database, at most once per `max_age` seconds
(a scrape inside that window is served from the last reading). Every replica reports the same
values; dashboards and alerts aggregate these gauges with `max()`, never `sum()`."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable

from prometheus_client import Gauge
from pymongo.asynchronous.collection import AsyncCollection

from .logging import get_logger
from .metrics import DEAD_LETTER_MESSAGES, QUEUE_MESSAGES, STATE_REFRESH_FAILURES
from .topology import QueueSpec

if TYPE_CHECKING:
    from .broker import Broker

log = get_logger(__name__)

Probe = Callable[[], Awaitable[object]]  # what it returns is not used
DEFAULT_MAX_AGE = 5.0
PROBE_TIMEOUT = 5.0


class StateMetrics:
    def __init__(self, max_age: float = DEFAULT_MAX_AGE):
        self.max_age = max_age
        self._probes: dict[str, Probe] = {}
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()

    def add(self, name: str, probe: Probe) -> None:
        self._probes[name] = probe

    async def refresh(self) -> None:
        """Run every probe unless they ran less than `max_age` ago; a failing probe keeps its last values."""
        async with self._lock:
            if time.monotonic() - self._read_at < self.max_age:
                return
            await asyncio.gather(*(self._run(name, probe) for name, probe in self._probes.items()))
            self._read_at = time.monotonic()

    async def _run(self, name: str, probe: Probe) -> None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                await probe()
        except Exception as exc:
            STATE_REFRESH_FAILURES.labels(name).inc()
            log.warning("metrics.probe_failed", probe=name, error=repr(exc))


def set_counts(gauge: Gauge, known: Iterable[str], counts: dict[str, int]) -> None:
    """Set one labelled gauge per value: the known values first at zero, so a status nobody is in
    reads 0 instead of keeping its last count."""
    for value in known:
        gauge.labels(value).set(0)
    for value, count in counts.items():
        gauge.labels(str(value)).set(count)


async def count_by(collection: AsyncCollection[Any], field: str, match: dict[str, Any] | None = None) -> dict[str, int]:
    """Documents of a collection counted by one field's value, in one aggregation."""
    pipeline = ([{"$match": match}] if match else []) + [{"$group": {"_id": f"${field}", "n": {"$sum": 1}}}]
    cursor = await collection.aggregate(pipeline)
    return {str(row["_id"]): int(row["n"]) async for row in cursor}


def queue_depth_probe(broker: Broker, queues: list[QueueSpec]) -> Probe:
    """Ready messages in each queue and in its dead-letter queue, by a passive declare on a channel of
    its own (a passive declare of a missing queue closes its channel). A replica's own queue is
    reported under its family's name."""

    async def probe() -> None:
        if broker.connection is None:
            raise ConnectionError("broker not connected")
        channel = await broker.connection.channel()
        try:
            for spec in queues:
                queue = await channel.declare_queue(spec.name, passive=True)
                QUEUE_MESSAGES.labels(spec.label).set(queue.declaration_result.message_count or 0)
                dead = await channel.declare_queue(spec.dead_letter_name, passive=True)
                DEAD_LETTER_MESSAGES.labels(spec.label).set(dead.declaration_result.message_count or 0)
        finally:
            if not channel.is_closed:
                await channel.close()

    return probe
