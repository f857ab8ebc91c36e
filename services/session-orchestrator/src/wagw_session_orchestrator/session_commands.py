"""What customers ask of their sessions (through the gateway): create, connect, pair."""

from __future__ import annotations

import secrets
from typing import Any

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import Envelope
from wagw_common.errors import Conflict, LimitExceeded, NotFound, Unavailable
from wagw_common.logging import get_logger

from . import clock, events
from .deps import Deps
from .lifecycle import Command, command_accepted_from, command_target
from .placement import select_worker
from .session_change import SessionChange, change_session
from .sessions_store import SessionsStore
from .views import session_view

log = get_logger(__name__)


def new_session_id() -> str:
    return f"s_{secrets.token_hex(8)}"


async def when_session_create_requested_create_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    sessions, broker = deps.sessions, deps.broker
    data = envelope.data
    tenant_id, limit = data["tenant_id"], data["session_limit"]
    if not await sessions.reserve_slot(tenant_id, limit):
        raise LimitExceeded("the tenant's session limit is reached", {"session_limit": limit})
    now = clock.now()
    session = {
        "_id": new_session_id(), "tenant_id": tenant_id, "name": data["name"], "description": data["description"],
        "status": SessionStatus.DISCONNECTED, "worker_id": None, "qr": None, "qr_expires_at": None, "phone": None,
        "sequence": 1, "created_at": now, "updated_at": now,
    }
    entry = events.session_created(broker, session)
    try:
        await sessions.insert({**session, "outbox": [entry]})
    except Exception:
        # Give the slot back unless the write landed after all (a lost reply). If even that cannot
        # be checked, the counter stays one too high: the safe side of the limit (see the README).
        if await sessions.get(session["_id"]) is None:
            await sessions.release_slot(tenant_id)
        raise
    await events.publish_outbox(deps.session_relay, session["_id"], [entry])
    log.info("session.created", session_id=session["_id"], tenant_id=tenant_id)
    return session_view(session, now)


async def when_session_connect_requested_assign_a_worker(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    return await _assign_and_start(envelope, Command.CONNECT, None, deps)


async def when_session_pair_requested_assign_a_worker(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    """Phase 2 with a pairing code: the worker answers with a code for this phone (session_reports)."""
    return await _assign_and_start(envelope, Command.PAIR, envelope.data["phone"], deps)


async def _assign_and_start(envelope: Envelope, command: Command, pairing_phone: str | None,
                            deps: Deps) -> dict[str, Any]:
    tenant_id, session_id = envelope.data["tenant_id"], envelope.data["session_id"]
    session = await tenant_session(deps.sessions, tenant_id, session_id)
    accepted = command_accepted_from(command)
    refuse_unless_in(session, accepted)
    worker_id = await select_worker(deps.rpc, session_id)

    def assign(current: dict, change: SessionChange) -> SessionChange:
        # Checked again against the session as it is now: of two concurrent connects only one
        # finds it still connectable when its compare-and-set lands.
        refuse_unless_in(current, accepted)
        return change.move_to(command_target(command), worker_id=worker_id).set(
            qr=None, qr_expires_at=None, pairing_code=None, pairing_code_expires_at=None, moved_from=None)

    written = await change_session(deps.sessions, deps.session_relay, deps.broker, session_id, assign,
                                   first_read=session)
    if written is None:
        raise NotFound("no such session", {"session_id": session_id})
    await deps.routes.remember(session_id, worker_id)
    start = {"session_id": session_id, "restore": False}
    if pairing_phone:
        start["pairing_phone"] = pairing_phone
    try:
        await deps.broker.send_to_worker(worker_id, "worker.session.start", start, subject=session_id)
    except Exception as exc:
        log.error("session.start_not_delivered", session_id=session_id, worker_id=worker_id, error=repr(exc))
        await _give_up_start(deps, session_id, worker_id)
        raise Unavailable("the selected worker cannot be reached", {"worker_id": worker_id}) from exc
    log.info("session.connecting", session_id=session_id, worker_id=worker_id, pairing=bool(pairing_phone))
    return session_view(written)


async def _give_up_start(deps: Deps, session_id: str, worker_id: str) -> None:
    """A session the worker never heard of must not look CONNECTING forever."""

    def fail(current: dict, change: SessionChange) -> SessionChange | None:
        if current["status"] != SessionStatus.CONNECTING or current.get("worker_id") != worker_id:
            return None
        return change.move_to(SessionStatus.ERROR, reason="worker_unreachable")

    try:
        await change_session(deps.sessions, deps.session_relay, deps.broker, session_id, fail)
    except Exception as exc:
        log.error("session.mark_error_failed", session_id=session_id, error=repr(exc))


async def tenant_session(sessions: SessionsStore, tenant_id: str, session_id: str) -> dict[str, Any]:
    session = await sessions.get_for_tenant(tenant_id, session_id)
    if session is None:
        raise NotFound("no such session", {"session_id": session_id})
    return session


def refuse_unless_in(session: dict[str, Any], accepted: frozenset[str]) -> None:
    if session["status"] not in accepted:
        raise Conflict(
            f"the session is {session['status']}",
            {"session_id": session["_id"], "status": session["status"], "accepted_from": sorted(accepted)},
        )
