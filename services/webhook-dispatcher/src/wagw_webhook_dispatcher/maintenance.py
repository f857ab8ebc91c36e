"""Housekeeping, in one replica at a time (a Redis lease): events left in an outbox by a crash are
published, deliveries whose job was lost are queued again, the events queue's bindings are brought
back to what the enabled endpoints want, settled deliveries past retention go."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from .deps import Deps
from .metrics import RECOVERED

log = get_logger(__name__)
PURGE_EVERY_SECONDS = 3600
OUTBOX_STALE_AFTER = timedelta(seconds=10)


@dataclass
class Maintenance:
    deps: Deps
    stalled_after: float
    retention_days: float
    _last_purge: float = field(default=0.0)

    async def tick(self) -> None:
        await self.deps.events.relay_stale(OUTBOX_STALE_AFTER)
        await self.requeue_stalled()
        if time.monotonic() - self._last_purge >= PURGE_EVERY_SECONDS:
            self._last_purge = time.monotonic()
            removed = await self.deps.deliveries.purge_settled(utc_now() - timedelta(days=self.retention_days))
            if removed:
                log.info("webhook.deliveries_purged", count=removed)
        await self.deps.bindings.reconcile()  # a change whose own reconciliation could not run

    async def requeue_stalled(self) -> int:
        """A pending delivery far past its planned attempt lost its job (a crash between recording an
        attempt and queueing the next): queue it again. A job that was only late is then a duplicate,
        which the attempt's guard drops."""
        now = utc_now()
        stalled = await self.deps.deliveries.stalled(now - timedelta(seconds=self.stalled_after))
        for delivery in stalled:
            await self.deps.jobs.now(delivery["_id"], cycle=delivery["cycle"],
                                     attempt=delivery["cycle_attempts"] + 1, subject=delivery["endpoint_id"])
            await self.deps.deliveries.replan(delivery["_id"], now)
            RECOVERED.inc()
        if stalled:
            log.warning("webhook.stalled_deliveries_requeued", count=len(stalled))
        return len(stalled)
