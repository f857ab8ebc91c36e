"""The orchestrator's periodic work, each loop run by one replica at a time (a Redis lease): the
outbox relay, the expiry of held sends, the release of paced sends and the history's retention sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.logging import get_logger
from wagw_common.service import Resources

from . import clock, held_expiry, paced_release
from .deps import Deps
from .settings import SERVICE, Settings

log = get_logger(__name__)


def start(res: Resources, deps: Deps) -> list[asyncio.Task]:
    settings: Settings = res.settings
    loops = [
        _relay_loop(res, settings, deps),
        held_expiry.run(res.redis, SERVICE, deps.messages, deps.message_relay, deps.broker,
                        max_age=settings.send_queue_max_age),
        paced_release.run(res.redis, SERVICE, deps, interval=settings.paced_release_interval),
    ]
    if settings.history_retention_days > 0:
        loops.append(_retention_loop(res, settings, deps))
    return [asyncio.create_task(loop) for loop in loops]


async def _relay_loop(res: Resources, settings: Settings, deps: Deps) -> None:
    """One replica at a time republishes events a crash left between their write and their publish."""
    interval = settings.outbox_relay_interval
    lease = Lease(res.redis, f"{SERVICE}.outbox-relay", ttl_seconds=max(3 * interval, 5))
    stale_after = timedelta(seconds=settings.outbox_stale_after)

    async def tick() -> None:
        for relay in (deps.session_relay, deps.message_relay):
            await relay.relay_stale(older_than=stale_after)

    await run_periodically_under_lease(lease, interval, tick)


async def _retention_loop(res: Resources, settings: Settings, deps: Deps) -> None:
    """One replica at a time deletes history older than `HISTORY_RETENTION_DAYS`."""
    interval = settings.history_sweep_interval
    lease = Lease(res.redis, f"{SERVICE}.history-retention", ttl_seconds=max(3 * interval, 5))
    keep = timedelta(days=settings.history_retention_days)

    async def sweep() -> None:
        removed = await deps.messages.delete_older_than(clock.now() - keep)
        if removed:
            log.info("history.retention_swept", removed=removed, retention_days=settings.history_retention_days)

    await run_periodically_under_lease(lease, interval, sweep)
