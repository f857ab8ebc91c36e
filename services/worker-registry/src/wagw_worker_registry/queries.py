"""The registry's answers: which worker takes a new session, and what the fleet looks like."""

from __future__ import annotations

from wagw_common.envelope import Envelope
from wagw_common.errors import NotFound, Unavailable
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from . import score, views
from .fleet import REMOVED
from .deps import Deps
from .store import WorkerStore

log = get_logger(__name__)

# How many of the emptiest workers are scored per choice: enough to find a healthy one among them
# and to survive a few concurrent claims, without reading the whole fleet.
CANDIDATES = 50


async def when_worker_requested_choose_one(envelope: Envelope, deps: Deps) -> dict:
    store = deps.store
    session_id = envelope.data["session_id"]
    # The same request asked again (a caller's retry) gets the same worker, not a second slot.
    already = await store.pending_owner(session_id)
    if already is not None:
        return {"worker_id": already["_id"]}
    for _ in range(2):  # look again once if every candidate filled up under us
        now = utc_now()
        ranked = score.rank([views.candidate(d) for d in await store.with_free_capacity(CANDIDATES)], now)
        for worker_id in ranked:
            if await store.claim(worker_id, session_id, now):
                log.info("worker.selected", worker_id=worker_id, session_id=session_id)
                return {"worker_id": worker_id}
        if not ranked:
            break
    log.warning("worker.none_available", session_id=session_id)
    raise Unavailable("no worker with free capacity")


async def when_fleet_requested_list_workers(envelope: Envelope, deps: Deps) -> dict:
    store = deps.store
    docs = await store.list(envelope.data.get("state"), envelope.data.get("environment"))
    return views.worker_list(docs, utc_now())


async def existing(store: WorkerStore, worker_id: str) -> dict:
    doc = await store.get(worker_id)
    if doc is None or doc["state"] == REMOVED:
        raise NotFound(f"no worker {worker_id}")
    return doc


async def when_worker_requested_describe_it(envelope: Envelope, deps: Deps) -> dict:
    store = deps.store
    return views.worker_detail(await existing(store, envelope.data["worker_id"]), utc_now())


async def when_fleet_stats_requested_sum_them_up(envelope: Envelope, deps: Deps) -> dict:
    store = deps.store
    return views.fleet_stats(await store.list())
