"""What a connected client may ask for: subscribe to a session (after an ownership check, with its
current state sent at once), unsubscribe, and replace its access token before it expires."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from wagw_common.errors import DomainError
from wagw_common.logging import get_logger
from wagw_common.tokens import ADMIN_ROLE

from .auth import API_KEY, AuthError, identify_token
from .catalog import ADMINS_ROOM, session_room, state_of_session
from .client_bindings import receivable
from .connections import Connection, Edge, emit_to, iso
from .protocol import ERROR

log = get_logger(__name__)


async def session_view(edge: Edge, connection: Connection, session_id: str) -> dict:
    """The session as its owner sees it; someone else's session is `not_found`, like a missing one."""
    return await edge.rpc.call("session.get", {"tenant_id": connection.identity.user_id, "session_id": session_id})


async def send_state(edge: Edge, connection: Connection, view: dict) -> None:
    for event, payload in state_of_session(view):
        await emit_to(edge, connection.sid, event, payload)


async def subscribe(edge: Edge, connection: Connection, request: dict) -> dict:
    session_id = request["session_id"]
    identity = connection.identity
    if identity.kind == API_KEY and session_id != identity.session_id:
        raise DomainError("an API-key connection follows only its own session", code="forbidden")
    if session_id not in connection.subscriptions and len(connection.subscriptions) >= edge.settings.max_subscriptions:
        raise DomainError(f"at most {edge.settings.max_subscriptions} sessions per connection; unsubscribe first",
                          code="too_many_subscriptions")
    view = await session_view(edge, connection, session_id)  # the ownership check
    await edge.sio.enter_room(connection.sid, session_room(session_id))
    connection.subscriptions.add(session_id)
    await send_state(edge, connection, view)
    log.info("realtime.subscribed", sid=connection.sid, session_id=session_id)
    return {"ok": True, "session_id": session_id}


async def unsubscribe(edge: Edge, connection: Connection, request: dict) -> dict:
    session_id = request["session_id"]
    if session_id in connection.subscriptions:
        await edge.sio.leave_room(connection.sid, session_room(session_id))
        connection.subscriptions.discard(session_id)
    return {"ok": True, "session_id": session_id}


async def reauth(edge: Edge, connection: Connection, request: dict) -> dict:
    current = connection.identity
    if current.kind == API_KEY:
        raise DomainError("an API-key connection does not expire; reauth is for access tokens", code="invalid")
    try:
        fresh = await identify_token(request["token"], edge.settings, edge.rpc)
    except AuthError as err:
        raise DomainError(err.message, code=err.code) from None
    if fresh.user_id != current.user_id:
        raise DomainError("a connection keeps its user: connect again to change user", code="forbidden")
    identity = dataclasses.replace(current, role=fresh.role, expires_at=fresh.expires_at)
    if (fresh.role == ADMIN_ROLE) != (current.role == ADMIN_ROLE):
        receives = receivable(identity)
        await edge.bindings.admit(receives)  # worker events bound before the reauth is answered
        if fresh.role == ADMIN_ROLE:
            await edge.sio.enter_room(connection.sid, ADMINS_ROOM)
        else:
            await edge.sio.leave_room(connection.sid, ADMINS_ROOM)
        await edge.bindings.release(connection.receives)
        connection.receives = receives
    connection.identity = identity
    # Warned again only if the fresh token leaves the warning window (one that does not is not news).
    connection.warned = fresh.token_expiry - time.time() <= edge.settings.token_warning_seconds
    log.info("realtime.reauthenticated", sid=connection.sid, user_id=current.user_id)
    return {"ok": True, "expires_at": iso(fresh.token_expiry)}


HANDLERS = {"subscribe": subscribe, "unsubscribe": unsubscribe, "reauth": reauth}


def send_state_once_connected(edge: Edge, connection: Connection) -> None:
    """The connect handler runs before the client is told it is connected; the state follows once it is."""

    async def send() -> None:
        try:
            view = await session_view(edge, connection, connection.identity.key_session_id)
            for _ in range(100):  # the connect acknowledgement goes out right after the handler returns
                if edge.sio.manager.is_connected(connection.sid, "/"):
                    break
                await asyncio.sleep(0.02)
            await send_state(edge, connection, view)
        except DomainError as err:
            await emit_to(edge, connection.sid, ERROR, err.to_dict())
        except Exception as exc:
            log.error("realtime.state_failed", sid=connection.sid, error=repr(exc), exc_info=exc)

    task = asyncio.create_task(send())
    edge.checks.add(task)
    task.add_done_callback(edge.checks.discard)
