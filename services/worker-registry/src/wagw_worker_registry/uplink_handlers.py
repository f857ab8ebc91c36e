"""What the registry does when a worker speaks: register, heartbeat, unregister."""

from __future__ import annotations

from functools import partial

from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from . import fleet
from .store import WorkerStore

log = get_logger(__name__)


def _log_outcome(event: str, worker_id: str, change: fleet.Change | None, **extra) -> None:
    emitted = [t for t, _ in change.events] if change else []
    log.info(event, worker_id=worker_id, applied=change is not None, emitted=emitted, **extra)


async def when_worker_registers_mark_online(envelope: Envelope, *, store: WorkerStore) -> None:
    msg = envelope.data
    decide = partial(fleet.registered, msg=msg, now=utc_now(), sent_at=envelope.time)
    change = await store.apply(msg["worker_id"], decide)
    _log_outcome("worker.registered", msg["worker_id"], change, max_sessions=msg["capacity"]["max_sessions"],
                 version=msg["version"])


async def when_heartbeat_received_mark_seen(envelope: Envelope, *, store: WorkerStore, assignment_grace: float) -> None:
    msg = envelope.data
    worker_id = msg["worker_id"]
    unknown = False

    def decide(doc: dict | None) -> fleet.Change | None:
        nonlocal unknown
        unknown = doc is None
        return None if unknown else fleet.heartbeat(doc, msg=msg, now=utc_now(), sent_at=envelope.time,
                                                    grace=assignment_grace)

    change = await store.apply(worker_id, decide)
    if unknown:
        # A worker registers before it beats; one we do not know re-registers when it reconnects.
        log.warning("worker.heartbeat_from_unknown_worker_ignored", worker_id=worker_id)
    elif change is None or change.events:
        _log_outcome("worker.heartbeat", worker_id, change, session_count=len(msg["sessions"]))


async def when_worker_unregisters_mark_offline(envelope: Envelope, *, store: WorkerStore) -> None:
    worker_id = envelope.data["worker_id"]

    def decide(doc: dict | None) -> fleet.Change | None:
        return None if doc is None else fleet.unregistered(doc, sent_at=envelope.time)

    change = await store.apply(worker_id, decide)
    _log_outcome("worker.unregistered", worker_id, change, reason=envelope.data["reason"])
