"""Moving sessions off a worker that went offline, drains or left: the platform's failover.

For every session the worker held (the event's list and, as the truth, the sessions whose
`worker_id` names it), the registry chooses a healthy worker, the session is moved there in one
compare-and-set (RECONNECTING, `moved_from` the old worker) and started with `restore` (the worker
resumes the WhatsApp login from its stored credentials, so no QR is needed). The new worker's
CONNECTED report ends the move and releases the messages held meanwhile (session_reports).

When no worker can take a session, it waits RECONNECTING with no worker (its sends are still held)
rather than failing: the next worker to come online gets it (`when_worker_came_online_place_waiting`),
or the worker that held it, back with it, adopts it by reporting it live (session_reports).

The handler is idempotent: a session already moved is skipped, except that one still RECONNECTING
and `moved_from` this worker gets its start command again (a crash may have come between the move
and the start; a worker ignores a start for a session it already holds)."""

from __future__ import annotations

import asyncio
from typing import Any

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import Envelope
from wagw_common.errors import Unavailable
from wagw_common.logging import get_logger

from .deps import Deps
from .lifecycle import Command, command_accepted_from
from .placement import select_worker, stop_on
from .session_change import SessionChange, change_session
from .session_control import start_or_give_up

log = get_logger(__name__)
# Each move waits mostly on round trips (the registry's choice, one write, two publishes), so a
# worker's sessions are moved in one wave rather than several: with 16 at once, 20 sessions took two
# waves, each as long as the slowest move. The bound only keeps a very large worker from flooding.
MOVES_AT_ONCE = 64
_MOVABLE = command_accepted_from(Command.FAILOVER)


async def when_worker_left_move_its_sessions(envelope: Envelope, deps: Deps) -> None:
    sessions = deps.sessions
    data = envelope.data
    worker_id, reason = data["worker_id"], f"worker_{data['state']}"
    found = {s["_id"]: s for s in await sessions.live_on_worker(worker_id)}
    for session_id in data["session_ids"]:
        if session_id not in found and (session := await sessions.get(session_id)) is not None:
            found[session_id] = session
    to_move = [s for s in found.values() if s.get("worker_id") == worker_id and s["status"] in _MOVABLE]
    to_finish = [s for s in found.values()
                 if s.get("moved_from") == worker_id and s["status"] == SessionStatus.RECONNECTING
                 and s.get("worker_id") not in (worker_id, None)]
    log.warning("failover.started", worker_id=worker_id, reason=reason, to_move=len(to_move), to_finish=len(to_finish))
    gate = asyncio.Semaphore(MOVES_AT_ONCE)

    async def bounded(work):
        async with gate:
            await work

    results = await asyncio.gather(
        *(bounded(_move(s, worker_id, reason, deps)) for s in to_move),
        *(bounded(start_or_give_up(deps, s["_id"], s["worker_id"], restore=_restorable(s))) for s in to_finish),
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
    return bool(session.get("phone")) or session["status"] in (SessionStatus.CONNECTED, SessionStatus.RECONNECTING)


async def _move(session: dict[str, Any], worker_id: str | None, reason: str, deps: Deps) -> None:
    session_id = session["_id"]
    restore = _restorable(session)
    try:
        new_worker = await select_worker(deps.rpc, session_id)
    except Unavailable:
        written = await change_session(deps.sessions, deps.session_relay, deps.broker, session_id,
                                       _wait_if_still_on(worker_id), first_read=session)
        if written is not None and written.get("worker_id") is None:
            await deps.routes.forget(session_id)
        log.error("failover.no_worker", session_id=session_id, worker_id=worker_id)
        return

    def move(current: dict, change: SessionChange) -> SessionChange | None:
        if current.get("worker_id") != worker_id or current["status"] not in _MOVABLE:
            return None  # moved, stopped or deleted meanwhile
        if current["status"] != SessionStatus.RECONNECTING:
            change.move_to(SessionStatus.RECONNECTING, reason=reason, worker_id=new_worker)
        return change.set(worker_id=new_worker, moved_from=worker_id or current.get("moved_from"), qr=None,
                          qr_expires_at=None, pairing_code=None, awaiting_stop=None)

    written = await change_session(deps.sessions, deps.session_relay, deps.broker, session_id, move,
                                   first_read=session)
    if written is None or written.get("worker_id") != new_worker:
        return
    await deps.routes.remember(session_id, new_worker)
    # A draining (or removed but running) worker still holds it: one session must not be live on two
    # workers for long, so the old one is told to stop it. To a dead worker this waits in its queue,
    # which cleans up if it ever comes back. The two commands go to two queues (no order between them
    # either way), so they are published together: each publish waits for the broker's confirm, and
    # a quorum queue confirms only once its log is on disk.
    await asyncio.gather(stop_on(deps.broker, worker_id, session_id, logout=False),
                         start_or_give_up(deps, session_id, new_worker, restore=restore))
    log.info("failover.session_moved", session_id=session_id, from_worker=worker_id, to_worker=new_worker)


def _wait_if_still_on(worker_id: str | None):
    def wait(current: dict, change: SessionChange) -> SessionChange | None:
        if current.get("worker_id") != worker_id or current["status"] not in _MOVABLE or worker_id is None:
            return None  # moved, stopped or deleted meanwhile; or already waiting
        if current["status"] != SessionStatus.RECONNECTING:
            change.move_to(SessionStatus.RECONNECTING, reason="no_worker_available", worker_id=None)
        return change.set(worker_id=None, moved_from=worker_id, qr=None, qr_expires_at=None, pairing_code=None,
                          awaiting_stop=None)

    return wait


async def when_worker_came_online_place_waiting(envelope: Envelope, deps: Deps) -> None:
    """Sessions left without a worker (none could take them) are placed now that one is online."""
    data = envelope.data
    log.info("fleet.worker_online", worker_id=data["worker_id"], reason=data["reason"],
             session_count=len(data["session_ids"]))
    waiting = await deps.sessions.waiting_for_a_worker()
    if not waiting:
        return
    log.warning("failover.placing_waiting", count=len(waiting), worker_id=data["worker_id"])
    gate = asyncio.Semaphore(MOVES_AT_ONCE)

    async def bounded(session: dict[str, Any]) -> None:
        async with gate:
            await _move(session, None, "worker_online", deps)

    await asyncio.gather(*(bounded(s) for s in waiting))
