"""Sessions, asked of the session orchestrator. The tenant is always the authenticated user:
the orchestrator checks every session id against it, so another tenant's session is a 404."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from wagw_common.contracts.sessions import CreateSession
from wagw_common.logging import get_logger

from ..auth import USER, unauthorized, user_required
from ..dependencies import gateway_of
from ..errors import ApiError
from ..validation import load_body
from .paths import API, param

log = get_logger(__name__)
routes = web.RouteTableDef()
# The contract's own schema, minus what the gateway fills in from the caller's identity.
_CREATE = CreateSession(exclude=("tenant_id", "session_limit"))
SESSION = f"{API}/sessions/{param('session_id')}"


async def fetch_session(request: web.Request, session_id: str) -> dict:
    tenant_id = request[USER].user_id
    return await gateway_of(request).rpc.call("session.get", {"tenant_id": tenant_id, "session_id": session_id},
                                              subject=session_id)


@routes.post(f"{API}/sessions")
@user_required
async def create_session(request: web.Request) -> web.Response:
    """Phase 1: create a session record (DISCONNECTED); the reply holds its API key, shown once."""
    gw = gateway_of(request)
    body = await load_body(request, _CREATE)
    # The tier decides the limit; read it fresh rather than trust the token's copy.
    user = await gw.users.by_id(request[USER].user_id)
    if user is None:
        raise unauthorized("the account no longer exists")
    session = await gw.rpc.call("session.create",
                                {**body, "tenant_id": user.user_id, "session_limit": user.session_limit})
    api_key, record = await gw.api_keys.create(session_id=session["session_id"], tenant_id=user.user_id)
    log.info("session.key_issued", session_id=record.session_id, key_id=record.key_id)
    return web.json_response({"session": session, "api_key": api_key}, status=201)


@routes.get(f"{API}/sessions")
@user_required
async def list_sessions(request: web.Request) -> web.Response:
    """The caller's sessions."""
    reply = await gateway_of(request).rpc.call("session.list", {"tenant_id": request[USER].user_id})
    return web.json_response({"sessions": reply["sessions"]})


@routes.get(SESSION)
@user_required
async def get_session(request: web.Request) -> web.Response:
    """One session, with its pending QR code if any."""
    return web.json_response({"session": await fetch_session(request, request.match_info["session_id"])})


@routes.post(f"{SESSION}/connect")
@user_required
async def connect_session(request: web.Request) -> web.Response:
    """Phase 2: assign a worker and start the session there (QR follows)."""
    session_id = request.match_info["session_id"]
    session = await gateway_of(request).rpc.call(
        "session.connect", {"tenant_id": request[USER].user_id, "session_id": session_id}, subject=session_id)
    return web.json_response({"session": session}, status=202)


@routes.get(f"{SESSION}/qr")
@user_required
async def session_qr(request: web.Request) -> web.Response:
    """The pending QR code of a session (404 `no_qr` when none)."""
    session = await fetch_session(request, request.match_info["session_id"])
    expires_at = session.get("qr_expires_at")
    if not session.get("qr") or (expires_at and _parse_time(expires_at) <= datetime.now(UTC)):
        raise ApiError(404, "no_qr", "no QR code is waiting to be scanned for this session",
                       {"status": session.get("status")})
    return web.json_response({"qr": session["qr"], "expires_at": expires_at})


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
