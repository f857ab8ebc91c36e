"""The registry's answers: which worker takes a new session, and what the fleet looks like."""

from __future__ import annotations

from wagw_common.envelope import Envelope
from wagw_common.errors import Unavailable
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from . import selection, views
from .store import WorkerStore

log = get_logger(__name__)

# How many of the emptiest workers are ranked per choice; enough to survive a few concurrent
# claims on the same workers without reading the whole fleet.
CANDIDATES = 20


async def when_worker_requested_choose_one(envelope: Envelope, *, store: WorkerStore) -> dict:
    session_id = envelope.data["session_id"]
    # The same request asked again (a caller's retry) gets the same worker, not a second slot.
    already = await store.pending_owner(session_id)
    if already is not None:
        return {"worker_id": already["_id"]}
    for _ in range(2):  # look again once if every candidate filled up under us
        ranked = selection.rank([views.candidate(d) for d in await store.with_free_capacity(CANDIDATES)])
        for worker_id in ranked:
            if await store.claim(worker_id, session_id, utc_now()):
                log.info("worker.selected", worker_id=worker_id, session_id=session_id)
                return {"worker_id": worker_id}
        if not ranked:
            break
    log.warning("worker.none_available", session_id=session_id)
    raise Unavailable("no worker with free capacity")


async def when_fleet_requested_list_workers(envelope: Envelope, *, store: WorkerStore) -> dict:
    return views.worker_list(await store.list(envelope.data.get("state")))
