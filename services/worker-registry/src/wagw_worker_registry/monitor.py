"""The singleton loop (one replica at a time, under a Redis lease): declare silent workers offline
and relay events a crash left in the outbox."""

from __future__ import annotations

import asyncio
from functools import partial

from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.logging import get_logger
from wagw_common.service import Resources
from wagw_common.storage import utc_now

from . import fleet
from .store import WorkerStore

log = get_logger(__name__)


async def mark_silent_workers_offline(*, store: WorkerStore, offline_after: float) -> int:
    cutoff = fleet.silent_cutoff(utc_now(), offline_after)
    declared = 0
    for doc in await store.silent(cutoff):
        # The state is checked again in the guarded write: a replica that lost the race emits nothing.
        change = await store.apply(doc["_id"], lambda d: None if d is None else fleet.timed_out(d, cutoff=cutoff))
        if change is not None:
            declared += 1
            log.warning("worker.declared_offline", worker_id=doc["_id"], reason="heartbeat timeout",
                        session_ids=change.events[0][1]["session_ids"])
    return declared


async def tick(*, store: WorkerStore, offline_after: float) -> None:
    await mark_silent_workers_offline(store=store, offline_after=offline_after)
    await store.relay.relay_stale()


def start(res: Resources, store: WorkerStore) -> asyncio.Task:
    settings = res.settings
    # Named after the database: two registries sharing a Redis but not a database never block each other.
    lease = Lease(res.redis, f"{settings.mongodb_database}.worker-monitor",
                  ttl_seconds=max(3 * settings.monitor_interval, 5))
    work = partial(tick, store=store, offline_after=settings.offline_after)
    loop = run_periodically_under_lease(lease, settings.monitor_interval, work)
    return asyncio.create_task(loop, name="worker-monitor")
