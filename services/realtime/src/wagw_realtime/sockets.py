"""The Socket.IO server: who may connect, which rooms they join, and how client requests are guarded."""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any, Awaitable, Callable

import socketio
from marshmallow import ValidationError

from wagw_common.errors import DomainError
from wagw_common.fast_runtime import TEXT_JSON
from wagw_common.logging import get_logger
from wagw_common.tokens import ADMIN_ROLE

from . import client_requests
from .auth import API_KEY, AuthError, identify
from .catalog import ADMINS_ROOM, session_room, user_room
from .client_bindings import receivable
from .client_manager import RabbitRoomsManager
from .connections import Connection, Edge, emit_to
from .limits import TokenBucket
from .metrics import CONNECTIONS, CONNECTS, DISCONNECTS, REQUESTS
from .protocol import ERROR, REQUESTS as CLIENT_REQUESTS, ClientRequest
from .settings import Settings

log = get_logger(__name__)
TRANSPORT_LIMIT_FACTOR = 16  # a frame this many times over the payload limit closes the connection
REQUEST_BURST = 10


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    # Rooms are shared by every replica through a fanout exchange of the manager's own (named by
    # REALTIME_SOCKETIO_CHANNEL), apart from the platform's wagw.* exchanges.
    manager = RabbitRoomsManager(settings.amqp_url, channel=settings.socketio_channel)
    return socketio.AsyncServer(async_mode="aiohttp", client_manager=manager,
                                cors_allowed_origins=settings.cors_origins, logger=False, engineio_logger=False,
                                json=TEXT_JSON,
                                max_http_buffer_size=settings.max_payload_bytes * TRANSPORT_LIMIT_FACTOR)


def register_handlers(edge: Edge) -> None:
    edge.sio.on("connect", partial(when_client_connects_authenticate, edge=edge))
    edge.sio.on("disconnect", partial(when_client_disconnects_forget_it, edge=edge))
    for request in CLIENT_REQUESTS:
        edge.sio.on(request.name, guarded(edge, request, client_requests.HANDLERS[request.name]))
    edge.sio.on("*", partial(when_client_sends_an_unknown_event, edge=edge))


def _refuse(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    # The client sees `err.message` and `err.data` ({code, message}) in its connect_error handler.
    CONNECTS.labels(code).inc()
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message})


async def when_client_connects_authenticate(sid: str, environ: dict, auth: Any = None, *, edge: Edge) -> None:
    try:
        identity = await identify(auth, edge.settings, edge.rpc)
    except AuthError as err:
        raise _refuse(err.code, err.message) from None
    if not await edge.quota.admit(identity.quota_owner, sid):
        raise _refuse("too_many_connections",
                      f"at most {edge.settings.max_connections_per_user} connections at once; close one first")
    receives = receivable(identity)
    try:
        await edge.bindings.admit(receives)  # before the client is told it is connected
    except Exception as exc:
        await edge.quota.release(identity.quota_owner, sid)
        log.error("realtime.bind_failed", sid=sid, error=repr(exc))
        raise _refuse("unavailable", "events cannot be delivered right now; try again shortly") from None
    connection = Connection(sid, identity, TokenBucket(edge.settings.subscribe_rate_per_minute, REQUEST_BURST),
                            receives=receives, next_key_check=time.time() + edge.settings.api_key_recheck_seconds)
    edge.connections.add(connection)
    if identity.kind == API_KEY:
        # Limited to its session: that room only, and the session's state as soon as it is connected.
        await edge.sio.enter_room(sid, session_room(identity.key_session_id))
        connection.subscriptions.add(identity.key_session_id)
        client_requests.send_state_once_connected(edge, connection)
    else:
        await edge.sio.enter_room(sid, user_room(identity.user_id))
        if identity.role == ADMIN_ROLE:
            await edge.sio.enter_room(sid, ADMINS_ROOM)
    CONNECTS.labels("ok").inc()
    CONNECTIONS.labels(identity.kind).inc()
    log.info("realtime.client_connected", sid=sid, kind=identity.kind, user_id=identity.user_id, role=identity.role)


async def when_client_disconnects_forget_it(sid: str, reason: Any = None, *, edge: Edge) -> None:
    connection = edge.connections.remove(sid)
    if connection is None:
        return
    CONNECTIONS.labels(connection.identity.kind).dec()
    DISCONNECTS.labels(str(reason or "unknown")).inc()
    await edge.bindings.release(connection.receives)
    await edge.quota.release(connection.identity.quota_owner, sid)


async def fail(edge: Edge, sid: str, event: str, code: str, message: str, details: Any = None) -> dict:
    """The error event, and the same error as the request's acknowledgement."""
    REQUESTS.labels(event, code).inc()
    error = {"code": code, "message": message, "details": details}
    await emit_to(edge, sid, ERROR, error)
    return {"ok": False, "error": error}


def _size(data: Any) -> int:
    """The request's size as JSON; binary attachments count their length."""
    def other(value: Any) -> str:
        return "x" * len(value) if isinstance(value, (bytes, bytearray)) else str(value)

    return len(json.dumps(data, separators=(",", ":"), default=other))


def _normalise(data: Any) -> Any:
    # `sessionId` is accepted for `session_id`, the spelling every payload uses.
    if isinstance(data, dict) and "sessionId" in data and "session_id" not in data:
        data = {**data, "session_id": data["sessionId"]}
        del data["sessionId"]
    return data


Handler = Callable[[Edge, Connection, dict], Awaitable[dict]]


def guarded(edge: Edge, request: ClientRequest, handle: Handler):
    """Rate limit, size limit and validation in front of a request handler; whatever goes wrong, the
    client gets an `error` event and a failed ack, and the connection stays up."""

    async def handler(sid: str, data: Any = None, *extra: Any) -> dict:
        connection = edge.connections.get(sid)
        if connection is None:
            return {"ok": False, "error": {"code": "unauthorized", "message": "not connected", "details": None}}
        wait = connection.bucket.take()
        if wait:
            return await fail(edge, sid, request.name, "rate_limited", "too many requests", {"retry_after": wait})
        if _size([data, *extra]) > edge.settings.max_payload_bytes:
            return await fail(edge, sid, request.name, "payload_too_large",
                              f"payloads are at most {edge.settings.max_payload_bytes} bytes")
        try:
            if extra:
                raise ValidationError({"_schema": ["one payload argument is expected"]})
            payload = request.schema().load(_normalise(data))
        except ValidationError as exc:
            return await fail(edge, sid, request.name, "invalid", f"{request.name} takes {request.payload}",
                              exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages})
        try:
            ack = await handle(edge, connection, payload)
        except DomainError as err:
            return await fail(edge, sid, request.name, err.code, err.message, err.details)
        except Exception as exc:  # a bad request must never take the connection (or the server) down
            log.error("realtime.request_failed", sid=sid, request=request.name, error=repr(exc), exc_info=exc)
            return await fail(edge, sid, request.name, "internal", f"could not {request.name}")
        REQUESTS.labels(request.name, "ok").inc()
        return ack

    return handler


async def when_client_sends_an_unknown_event(event: str, sid: str, *data: Any, edge: Edge) -> dict:
    connection = edge.connections.get(sid)
    if connection is None or connection.bucket.take():
        return {"ok": False, "error": {"code": "rate_limited", "message": "too many requests", "details": None}}
    known = ", ".join(r.name for r in CLIENT_REQUESTS)
    return await fail(edge, sid, "unknown", "unknown_event", f"unknown event; this server handles {known}",
                      {"event": str(event)[:64]})
