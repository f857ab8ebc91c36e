"""Moving sessions off a worker that went offline, drains or left: the platform's failover.

For every session the worker held (the event's list and, as the truth, the sessions whose
`worker_id` names it), the registry chooses a healthy worker, the session is moved there in one
compare-and-set (RECONNECTING, `moved_from` the old worker) and started with `restore` (the worker
resumes the WhatsApp login from its stored credentials, so no QR is needed). The new worker's
CONNECTED report ends the move and releases the messages held meanwhile (worker_reports).

The handler is idempotent: a session already moved is skipped, except that one still RECONNECTING
and `moved_from` this worker gets its start command again (a crash may have come between the move
and the start; a worker ignores a start for a session it already holds)."""

from __future__ import annotations

import asyncio
from typing import Any

from wagw_common.broker import Broker
from wagw_common.envelope import Envelope
from wagw_common.errors import Unavailable
from wagw_common.logging import get_logger
from wagw_common.outbox import OutboxRelay
from wagw_common.rpc import RpcClient

from .lifecycle import CONNECTED, ERROR, RECONNECTING, Command, command_accepted_from
from .placement import select_worker, stop_on
from .routing import SessionRoutes
from .session_change import SessionChange, change_session
from .session_control import start_or_give_up
from .sessions_store import SessionsStore

log = get_logger(__name__)
MOVES_AT_ONCE = 16
_MOVABLE = command_accepted_from(Command.FAILOVER)


async def when_worker_left_move_its_sessions(
    envelope: Envelope, *, sessions: SessionsStore, relay: OutboxRelay, broker: Broker, rpc: RpcClient,
    routes: SessionRoutes,
) -> None:
    data = envelope.data
    worker_id, reason = data["worker_id"], f"worker_{data['state']}"
    found = {s["_id"]: s for s in await sessions.live_on_worker(worker_id)}
    for session_id in data["session_ids"]:
        if session_id not in found and (session := await sessions.get(session_id)) is not None:
            found[session_id] = session
    to_move = [s for s in found.values() if s.get("worker_id") == worker_id and s["status"] in _MOVABLE]
    to_finish = [s for s in found.values() if s.get("moved_from") == worker_id and s["status"] == RECONNECTING
                 and s.get("worker_id") != worker_id]
    log.warning("failover.started", worker_id=worker_id, reason=reason, to_move=len(to_move), to_finish=len(to_finish))
    gate = asyncio.Semaphore(MOVES_AT_ONCE)

    async def bounded(work):
        async with gate:
            await work

    deps = dict(sessions=sessions, relay=relay, broker=broker, routes=routes)
    results = await asyncio.gather(
        *(bounded(_move(s, worker_id, reason, rpc=rpc, **deps)) for s in to_move),
        *(bounded(start_or_give_up(sessions, relay, broker, s["_id"], s["worker_id"], restore=_restorable(s)))
          for s in to_finish),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        # Retried as a whole: what was done is skipped or finished the second time.
        log.error("failover.incomplete", worker_id=worker_id, failed=len(failed), error=repr(failed[0]))
        raise failed[0]
    log.warning("failover.dispatched", worker_id=worker_id, moved=len(to_move), finished=len(to_finish))


def _restorable(session: dict[str, Any]) -> bool:
    """A session that was ever linked to a phone has credentials its worker can restore."""
    return bool(session.get("phone")) or session["status"] in (CONNECTED, RECONNECTING)


async def _move(session: dict[str, Any], worker_id: str, reason: str, *, sessions: SessionsStore,
                relay: OutboxRelay, broker: Broker, rpc: RpcClient, routes: SessionRoutes) -> None:
    session_id = session["_id"]
    restore = _restorable(session)
    try:
        new_worker = await select_worker(rpc, session_id)
    except Unavailable:
        await change_session(sessions, relay, broker, session_id, _fail_if_still_on(worker_id), first_read=session)
        log.error("failover.no_worker", session_id=session_id, worker_id=worker_id)
        return

    def move(current: dict, change: SessionChange) -> SessionChange | None:
        if current.get("worker_id") != worker_id or current["status"] not in _MOVABLE:
            return None  # moved, stopped or deleted meanwhile
        if current["status"] != RECONNECTING:
            change.move_to(RECONNECTING, reason=reason, worker_id=new_worker)
        return change.set(worker_id=new_worker, moved_from=worker_id, qr=None, qr_expires_at=None,
                          pairing_code=None, awaiting_stop=None)

    written = await change_session(sessions, relay, broker, session_id, move, first_read=session)
    if written is None or written.get("worker_id") != new_worker:
        return
    await routes.remember(session_id, new_worker)
    # A draining (or removed but running) worker still holds it: one session must not be live on two
    # workers, so the old one stops it first. To a dead worker this waits in its queue, which cleans
    # up if it ever comes back.
    await stop_on(broker, worker_id, session_id, logout=False)
    await start_or_give_up(sessions, relay, broker, session_id, new_worker, restore=restore)
    log.info("failover.session_moved", session_id=session_id, from_worker=worker_id, to_worker=new_worker)


def _fail_if_still_on(worker_id: str):
    def fail(current: dict, change: SessionChange) -> SessionChange | None:
        if current.get("worker_id") != worker_id or current["status"] not in _MOVABLE:
            return None
        return change.move_to(ERROR, reason="no_worker_available", worker_id=None).set(qr=None, qr_expires_at=None)

    return fail
