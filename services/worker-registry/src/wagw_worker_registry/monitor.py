"""The singleton loop (one replica at a time, under a Redis lease): declare workers that missed
their heartbeats offline (allowing for the registry's own delay in reading them, and for any time it
could not hear them at all), relay events a crash left in the outbox, delete removed workers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.logging import get_logger
from wagw_common.service import Resources
from wagw_common.storage import utc_now

from . import fleet
from .store import WorkerStore

log = get_logger(__name__)


async def mark_silent_workers_offline(*, store: WorkerStore, reconnect_allowance: float = 0.0) -> int:
    now = utc_now()
    if not store.broker.restored:
        return 0  # deaf, or not quite back: nobody's silence means anything now
    # Heartbeats wait in the queue while the registry itself is down, but none are sent while the
    # broker is: after a reconnect, workers get a window, plus time to reconnect themselves.
    back = store.broker.reconnected_at
    heard_since = back + timedelta(seconds=reconnect_allowance) if back is not None else None
    # A heartbeat still waiting in the registry's queue is not a missed one: when the registry is
    # behind (a burst, an overloaded database), deadlines are stretched by that much.
    behind = await store.heartbeat_delay()
    if behind > 1.0:
        log.warning("worker.registry_behind", seconds=round(behind, 1))
    declared = 0
    for doc in await store.silent(now - timedelta(seconds=behind)):
        # The state is checked again in the guarded write: a replica that lost the race emits nothing.
        change = await store.apply(doc["_id"], lambda d: None if d is None else
                                   fleet.timed_out(d, now=now, behind=behind, heard_since=heard_since))
        if change is not None:
            declared += 1
            log.warning("worker.declared_offline", worker_id=doc["_id"], reason="heartbeat timeout",
                        session_ids=change.events[0][1]["session_ids"])
    return declared


async def tick(*, store: WorkerStore, reconnect_allowance: float) -> None:
    await mark_silent_workers_offline(store=store, reconnect_allowance=reconnect_allowance)
    await store.relay.relay_stale()
    await store.forget_removed()


def start(res: Resources, store: WorkerStore) -> asyncio.Task:
    settings = res.settings
    # Named after the database: two registries sharing a Redis but not a database never block each other.
    lease = Lease(res.redis, f"{settings.mongodb_database}.worker-monitor",
                  ttl_seconds=max(3 * settings.monitor_interval, 5))
    each_tick = partial(tick, store=store, reconnect_allowance=settings.reconnect_allowance)
    loop = run_periodically_under_lease(lease, settings.monitor_interval, each_tick)
    return asyncio.create_task(loop, name="worker-monitor")
