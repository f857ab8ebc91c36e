"""What the registry does when a worker speaks: register, heartbeat, unregister. Each message is
first held to the identity rule (identity.py): a worker may speak only for itself."""

from __future__ import annotations

import time
from functools import partial

from aio_pika.exceptions import PublishError
from prometheus_client import Histogram
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from . import fleet, recovery
from .deps import Deps
from .store import WorkerStore

log = get_logger(__name__)
HEARTBEAT_LAG = Histogram(
    "wagw_worker_registry_heartbeat_lag_seconds", "From a worker sending a heartbeat to the registry recording it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def _log_outcome(event: str, worker_id: str, change: fleet.Change | None, **extra) -> None:
    emitted = [t for t, _ in change.events] if change else []
    log.info(event, worker_id=worker_id, applied=change is not None, emitted=emitted, **extra)


async def when_worker_registers_mark_online_and_assign_sessions(envelope: Envelope, deps: Deps) -> None:
    msg, store = envelope.data, deps.store
    worker_id = deps.speakers.require(envelope)
    decide = partial(fleet.registered, msg=msg, now=utc_now(), sent_at=envelope.time, missed=deps.missed)
    change = await store.apply(worker_id, decide)
    _log_outcome("worker.registered", worker_id, change, max_sessions=msg["capacity"]["max_sessions"],
                 version=msg["version"])
    # Answered even when the registration itself was stale (its first heartbeat overtook it): the
    # worker is alive and waits for its list. One that left since (offline) is not answered.
    doc = await store.get(worker_id)
    if doc is not None and doc["state"] in (fleet.ONLINE, fleet.DRAINING):
        await _tell_sessions_to_hold(store, doc)


async def _tell_sessions_to_hold(store: WorkerStore, doc: dict) -> None:
    """Recovery: the answer to every registration is the list of sessions the worker should hold."""
    worker_id = doc["_id"]
    others = await store.claiming(worker_id, fleet.held_session_ids(doc))
    sessions = recovery.assigned_sessions(doc, others)
    try:
        await store.broker.send_to_worker(worker_id, "worker.sessions.assigned",
                                          {"reason": "registered", "sessions": sessions})
    except PublishError:
        # Its command queue is gone (removed by hand): it re-registers, and is answered, when it reconnects.
        log.warning("worker.assignment_unroutable", worker_id=worker_id)
        return
    log.info("worker.sessions_assigned", worker_id=worker_id, count=len(sessions))


async def when_heartbeat_received_mark_seen(envelope: Envelope, deps: Deps) -> None:
    msg, store, missed = envelope.data, deps.store, deps.missed
    worker_id = deps.speakers.require(envelope)
    doc = await store.get(worker_id, with_sessions=False)
    if doc is None or doc["state"] == fleet.REMOVED:
        # A worker registers before it beats: one we do not know (removed, or its record lost) is
        # asked to register again, at most once per its heartbeat interval in this replica.
        log.warning("worker.heartbeat_from_unknown_worker_ignored", worker_id=worker_id)
        await _ask_to_register(store, worker_id)
        return
    steady = fleet.steady_heartbeat(doc, msg=msg, now=utc_now(), sent_at=envelope.time, missed=missed)
    if steady is not None:
        await store.record_heartbeat(worker_id, steady)
    else:
        change = await store.apply(worker_id, lambda d: None if d is None or d["state"] == fleet.REMOVED else
                                   fleet.heartbeat(d, msg=msg, now=utc_now(), sent_at=envelope.time,
                                                   grace=deps.assignment_grace, missed=missed))
        if change is None or change.events:
            _log_outcome("worker.heartbeat", worker_id, change, session_count=len(msg["sessions"]))
    HEARTBEAT_LAG.observe(max(0.0, (utc_now() - envelope.time).total_seconds()))


_ASKED: dict[str, float] = {}
ASK_AGAIN_AFTER = 10.0


async def _ask_to_register(store: WorkerStore, worker_id: str) -> None:
    now = time.monotonic()
    if now - _ASKED.get(worker_id, -ASK_AGAIN_AFTER) < ASK_AGAIN_AFTER:
        return
    if len(_ASKED) > 10_000:
        _ASKED.clear()
    _ASKED[worker_id] = now
    try:
        await store.broker.send_to_worker(worker_id, "worker.register.request", {"reason": "unknown worker"})
    except PublishError:
        log.warning("worker.register_request_unroutable", worker_id=worker_id)


async def when_worker_unregisters_mark_offline(envelope: Envelope, deps: Deps) -> None:
    store = deps.store
    worker_id = deps.speakers.require(envelope)

    def decide(doc: dict | None) -> fleet.Change | None:
        if doc is None or doc["state"] == fleet.REMOVED:
            return None
        return fleet.unregistered(doc, now=utc_now(), sent_at=envelope.time)

    change = await store.apply(worker_id, decide)
    _log_outcome("worker.unregistered", worker_id, change, reason=envelope.data["reason"])
