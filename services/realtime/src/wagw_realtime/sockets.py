"""The Socket.IO server: who may connect, which rooms they join, and what they may ask for."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import socketio
from marshmallow import ValidationError

from wagw_common.contracts import StrictSchema
from wagw_common.contracts import fields as f
from wagw_common.errors import DomainError
from wagw_common.logging import get_logger
from wagw_common.rpc import RpcClient
from wagw_common.tokens import ADMIN_ROLE, InvalidToken, TokenExpired, verify_access_token

from .catalog import ADMINS_ROOM, session_room, state_of_session, user_room
from .client_manager import RabbitRoomsManager
from .settings import Settings

log = get_logger(__name__)


class SubscribeRequest(StrictSchema):
    session_id = f.object_id()


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    # Rooms are shared by every replica through a fanout exchange of the manager's own (named by
    # REALTIME_SOCKETIO_CHANNEL), apart from the platform's wagw.* exchanges.
    manager = RabbitRoomsManager(settings.amqp_url, channel=settings.socketio_channel)
    return socketio.AsyncServer(async_mode="aiohttp", client_manager=manager,
                                cors_allowed_origins=settings.cors_origins, logger=False, engineio_logger=False)


def register_handlers(sio: socketio.AsyncServer, *, settings: Settings, rpc: Callable[[], RpcClient]) -> None:
    """`rpc` is a getter: the broker, hence the RPC client, only exists once the app has started."""
    sio.on("connect", partial(when_client_connects_authenticate, sio=sio, settings=settings))
    sio.on("subscribe", partial(when_client_subscribes_send_session_state, sio=sio, rpc=rpc))


def _refuse(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    # The client sees `err.message` and `err.data` ({code, message}) in its connect_error handler.
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message})


async def when_client_connects_authenticate(sid: str, environ: dict, auth: Any, *, sio: socketio.AsyncServer,
                                            settings: Settings) -> None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        raise _refuse("unauthorized", "an access token is required in the handshake auth: {token}")
    try:
        principal = verify_access_token(token, secrets=[settings.jwt_secret], issuer=settings.jwt_issuer,
                                        audience=settings.jwt_audience)
    except InvalidToken as exc:
        raise _refuse("token_expired" if isinstance(exc, TokenExpired) else "unauthorized", str(exc)) from None
    await sio.save_session(sid, {"user_id": principal.user_id, "role": principal.role, "tier": principal.tier})
    await sio.enter_room(sid, user_room(principal.user_id))
    if principal.role == ADMIN_ROLE:
        await sio.enter_room(sid, ADMINS_ROOM)
    log.info("realtime.client_connected", sid=sid, user_id=principal.user_id, role=principal.role)


async def _error(sio: socketio.AsyncServer, sid: str, code: str, message: str, details: Any = None) -> dict:
    error = {"code": code, "message": message, "details": details}
    await sio.emit("error", error, to=sid)
    return {"ok": False, "error": error}


async def when_client_subscribes_send_session_state(sid: str, data: Any = None, *_extra: Any,
                                                    sio: socketio.AsyncServer, rpc: Callable[[], RpcClient]) -> dict:
    """Join the session's room if the user owns it, and send its current state at once, so a page
    opened after the QR was published still shows it. Returns the acknowledgement, if one is asked for."""
    try:
        request = SubscribeRequest().load(data)
    except ValidationError as exc:
        return await _error(sio, sid, "invalid", "subscribe takes {session_id}", exc.messages)
    try:
        principal = await sio.get_session(sid)
        view = await rpc().call("session.get", {"tenant_id": principal["user_id"],
                                                "session_id": request["session_id"]})
    except DomainError as err:  # not_found (someone else's session looks missing too), unavailable
        return await _error(sio, sid, err.code, err.message)
    except Exception as exc:  # a bad client request must never take the connection down
        log.error("realtime.subscribe_failed", sid=sid, error=repr(exc), exc_info=exc)
        return await _error(sio, sid, "internal", "could not subscribe")
    await sio.enter_room(sid, session_room(request["session_id"]))
    for event, payload in state_of_session(view):
        await sio.emit(event, payload, to=sid)
    log.info("realtime.subscribed", sid=sid, session_id=request["session_id"])
    return {"ok": True}
