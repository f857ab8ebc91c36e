"""What customers do with a session once it exists: disconnect, log out, restart, rename, delete.

Each command is one compare-and-set against the lifecycle table (an illegal one is refused with
`conflict` and the current status), then the worker is told. The worker's own report of the stop
comes from a worker the session no longer names, so it is dropped (see session_reports)."""

from __future__ import annotations

from typing import Any

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import Envelope
from wagw_common.errors import DomainError, NotFound
from wagw_common.logging import get_logger

from . import clock, pacing
from .deps import Deps
from .lifecycle import Command, command_accepted_from, command_target
from .placement import select_worker, start_on, stop_on
from .session_change import SessionChange, change_session
from .session_commands import refuse_unless_in, tenant_session
from .views import session_view

log = get_logger(__name__)
_OFF_WORKER = {"worker_id": None, "qr": None, "qr_expires_at": None, "pairing_code": None}


def _found(session: dict[str, Any] | None, session_id: str) -> dict[str, Any]:
    # Read just before the change: a session gone meanwhile is answered as any missing one.
    if session is None:
        raise NotFound("no such session", {"session_id": session_id})
    return session


async def _stop(envelope: Envelope, command: Command, deps: Deps, *, logout: bool, reason: str) -> dict[str, Any]:
    session_id = envelope.data["session_id"]
    session = await tenant_session(deps.sessions, envelope.data["tenant_id"], session_id)
    accepted, target = command_accepted_from(command), command_target(command)
    held_by: list[str | None] = []

    def stop(current: dict, change: SessionChange) -> SessionChange:
        refuse_unless_in(current, accepted)
        held_by[:] = [current.get("worker_id")]
        change.move_to(target, reason=reason, worker_id=None).set(**_OFF_WORKER)
        return change.set(phone=None) if logout else change

    written = _found(await change_session(deps.sessions, deps.session_relay, deps.broker, session_id, stop,
                                          first_read=session), session_id)
    await deps.routes.forget(session_id)
    await stop_on(deps.broker, held_by[0] if held_by else None, session_id, logout=logout)
    log.info(f"session.{command.value}", session_id=session_id, worker_id=held_by[0] if held_by else None)
    return session_view(written)


async def when_session_disconnect_requested_stop_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    return await _stop(envelope, Command.DISCONNECT, deps, logout=False, reason="disconnected")


async def when_session_logout_requested_unlink_the_phone(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    return await _stop(envelope, Command.LOGOUT, deps, logout=True, reason="logged_out")


async def when_session_restart_requested_start_it_again(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    session_id = envelope.data["session_id"]
    session = await tenant_session(deps.sessions, envelope.data["tenant_id"], session_id)
    accepted = command_accepted_from(Command.RESTART)
    refuse_unless_in(session, accepted)
    worker_id = await select_worker(deps.rpc, session_id)
    before: dict[str, Any] = {}

    def restart(current: dict, change: SessionChange) -> SessionChange:
        refuse_unless_in(current, accepted)
        before.update(worker_id=current.get("worker_id"), phone=current.get("phone"))
        # Restarted on the same worker, its report of the stop is about to arrive: expected, not news.
        awaiting_stop = worker_id if current.get("worker_id") == worker_id else None
        return change.move_to(command_target(Command.RESTART), reason="restart", worker_id=worker_id).set(
            qr=None, qr_expires_at=None, pairing_code=None, awaiting_stop=awaiting_stop)

    written = _found(await change_session(deps.sessions, deps.session_relay, deps.broker, session_id, restart,
                                          first_read=session), session_id)
    await deps.routes.remember(session_id, worker_id)
    await stop_on(deps.broker, before["worker_id"], session_id, logout=False)
    await start_or_give_up(deps, session_id, worker_id, restore=bool(before["phone"]))
    log.info("session.restarted", session_id=session_id, worker_id=worker_id, previous_worker_id=before["worker_id"])
    return session_view(written)


async def start_or_give_up(deps: Deps, session_id: str, worker_id: str, *, restore: bool) -> None:
    """A session the worker never heard of must not look RECONNECTING forever."""
    try:
        await start_on(deps.broker, worker_id, session_id, restore=restore)
        return
    except Exception as exc:
        log.error("session.start_not_delivered", session_id=session_id, worker_id=worker_id, error=repr(exc))

    def fail(current: dict, change: SessionChange) -> SessionChange | None:
        if current["status"] != SessionStatus.RECONNECTING or current.get("worker_id") != worker_id:
            return None
        return change.move_to(SessionStatus.ERROR, reason="worker_unreachable")

    await change_session(deps.sessions, deps.session_relay, deps.broker, session_id, fail)


async def when_session_update_requested_rename_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    data = envelope.data
    if not {"name", "description", "pacing"} & data.keys():
        raise DomainError("nothing to change: give a name, a description or a pacing policy",
                          {"name": ["or description, or pacing"]})
    session = await tenant_session(deps.sessions, data["tenant_id"], data["session_id"])

    def rename(current: dict, change: SessionChange) -> SessionChange | None:
        name, description = data.get("name", current["name"]), data.get("description", current.get("description", ""))
        if current["status"] == SessionStatus.DELETED:
            raise NotFound("no such session", {"session_id": current["_id"]})
        if "pacing" in data:
            change.pace(pacing.policy_to_store(data["pacing"], current.get("pacing"), clock.now()))
        if (name, description) == (current["name"], current.get("description", "")):
            return change
        return change.describe(name=name, description=description)

    return session_view(_found(await change_session(deps.sessions, deps.session_relay, deps.broker,
                                                    data["session_id"], rename, first_read=session),
                               data["session_id"]))


async def when_session_delete_requested_remove_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    """The cleanup policy (README): the record stays as a DELETED tombstone (invisible to the tenant),
    the phone is unlinked on its worker, the route is dropped, the tenant's slot is given back, the
    history is deleted, and `session.deleted` tells the gateway to revoke the session's API keys."""
    tenant_id, session_id = envelope.data["tenant_id"], envelope.data["session_id"]
    session = await deps.sessions.get(session_id)
    if session is None or session["tenant_id"] != tenant_id:
        raise NotFound("no such session", {"session_id": session_id})
    if session["status"] == SessionStatus.DELETED:
        await _clean_up_after(session, None, deps)
        raise NotFound("no such session", {"session_id": session_id})
    accepted = command_accepted_from(Command.DELETE)
    held_by: list[str | None] = [None]

    def delete(current: dict, change: SessionChange) -> SessionChange:
        refuse_unless_in(current, accepted)
        held_by[0] = current.get("worker_id")
        return change.delete(reason="deleted").set(pairing_code=None)

    written = _found(await change_session(deps.sessions, deps.session_relay, deps.broker, session_id, delete,
                                          first_read=session), session_id)
    await _clean_up_after(written, held_by[0], deps)
    log.info("session.deleted", session_id=session_id, worker_id=held_by[0])
    return session_view(written)


async def _clean_up_after(session: dict[str, Any], worker_id: str | None, deps: Deps) -> None:
    """Idempotent: a retried delete runs it again and finishes what a crash interrupted."""
    await deps.routes.forget(session["_id"])
    await stop_on(deps.broker, worker_id, session["_id"], logout=True)
    if await deps.sessions.claim_slot_release(session["_id"]):
        await deps.sessions.release_slot(session["tenant_id"])
    removed = await deps.messages.delete_for_session(session["_id"])
    log.info("session.history_deleted", session_id=session["_id"], messages=removed)
