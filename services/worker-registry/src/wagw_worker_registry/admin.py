"""An administrator's requests about one worker: health check, drain, undrain, remove. Each change
goes through the same guarded write (and outbox) as the workers' own messages."""

from __future__ import annotations

from typing import Callable

from aio_pika.exceptions import PublishError
from wagw_common.envelope import Envelope
from wagw_common.errors import NotFound
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from . import fleet, views
from .queries import existing
from .deps import Deps
from .store import Decided

log = get_logger(__name__)


def _live(decide: Callable[[dict], Decided]) -> Callable[[dict | None], Decided]:
    """Run `decide` on a worker that exists; a missing or removed one is a 404."""
    def guarded(doc: dict | None) -> Decided:
        if doc is None or doc["state"] == fleet.REMOVED:
            raise NotFound("no such worker")
        return decide(doc)
    return guarded


async def when_health_check_requested_check_now(envelope: Envelope, deps: Deps) -> dict:
    store = deps.store
    """Declare the worker offline now if it missed its heartbeats; otherwise ask it to beat at once
    (its answer updates last_heartbeat_at within moments)."""
    worker_id = envelope.data["worker_id"]
    doc = await existing(store, worker_id)
    requested = False
    if fleet.is_silent(doc, utc_now()):
        await store.apply(worker_id, _live(lambda d: fleet.timed_out(d, now=utc_now())))
    elif doc["state"] != fleet.OFFLINE:
        try:
            await store.broker.send_to_worker(worker_id, "worker.heartbeat.request", {"reason": "health check"})
            requested = True
        except PublishError:
            log.warning("worker.health_check_unroutable", worker_id=worker_id)
    log.info("worker.health_checked", worker_id=worker_id, heartbeat_requested=requested)
    return {"worker": views.worker_view(await existing(store, worker_id), utc_now()), "heartbeat_requested": requested}


async def when_drain_requested_stop_assigning(envelope: Envelope, deps: Deps) -> dict:
    store = deps.store
    worker_id = envelope.data["worker_id"]
    change = await store.apply(worker_id, _live(lambda d: fleet.drained(d, reason=envelope.data["reason"])))
    log.info("worker.drained", worker_id=worker_id, emitted=[t for t, _ in change.events])
    return views.worker_view(await existing(store, worker_id), utc_now())


async def when_undrain_requested_assign_again(envelope: Envelope, deps: Deps) -> dict:
    store = deps.store
    worker_id = envelope.data["worker_id"]
    change = await store.apply(worker_id, _live(fleet.undrained))
    log.info("worker.undrained", worker_id=worker_id, emitted=[t for t, _ in change.events])
    return views.worker_view(await existing(store, worker_id), utc_now())


async def when_removal_requested_forget_worker(envelope: Envelope, deps: Deps) -> dict:
    store = deps.store
    worker_id, force = envelope.data["worker_id"], envelope.data["force"]
    change = await store.apply(worker_id, _live(
        lambda d: fleet.removed(d, force=force, reason="removed by an administrator")))
    await store.forget_removed(worker_id)  # its event is out: the record can go (else the monitor does it)
    session_ids = change.events[0][1]["session_ids"]
    log.warning("worker.removed", worker_id=worker_id, forced=force, session_ids=session_ids)
    return {"worker_id": worker_id, "session_ids": session_ids}
