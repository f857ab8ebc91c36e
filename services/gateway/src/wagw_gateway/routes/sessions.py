"""Sessions, asked of the session orchestrator. The tenant is always the caller's: the orchestrator
checks every session id against it, so another tenant's session is a 404. A key restricted to one
session sees only that one (any other id is a 404 too)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from marshmallow import fields
from wagw_common.contracts.sessions import CreateSession, SessionList, SessionView
from wagw_common.logging import get_logger

from ..apidoc import Media, api_doc
from ..auth import authenticated, unauthorized
from ..callers import CALLER
from ..deps import gateway_of
from ..errors import ApiError, not_found
from ..idempotent import idempotent
from ..qr_images import QrQuery, render_qr
from ..validation import load_body, load_query
from .paths import API, param

log = get_logger(__name__)
routes = web.RouteTableDef()
# The contract's own schema, minus what the gateway fills in from the caller's identity.
_CREATE = CreateSession(exclude=("tenant_id", "session_limit"))
SESSION = f"{API}/sessions/{param('session_id')}"
TAGS = ("sessions",)
_QR = {"qr": fields.String(), "expires_at": fields.AwareDateTime(allow_none=True)}


async def fetch_session(request: web.Request, session_id: str) -> dict:
    """One of the caller's sessions (and, for a restricted key, its own one), or 404."""
    caller = request[CALLER]
    if not caller.may_act_on(session_id):
        raise not_found("session")
    return await gateway_of(request).rpc.call("session.get", {"tenant_id": caller.tenant_id, "session_id": session_id},
                                              subject=session_id)


@routes.post(f"{API}/sessions")
@api_doc(tags=TAGS, body=_CREATE, responses={201: {"session": SessionView, "api_key": fields.String(allow_none=True),
                                                   "api_key_id": fields.String()}})
@authenticated(scope="sessions:write")
@idempotent(secret_fields=("api_key",))
async def create_session(request: web.Request) -> web.Response:
    """Phase 1: create a session record (DISCONNECTED); the reply holds its API key, shown once."""
    gw, caller = gateway_of(request), request[CALLER]
    if caller.session_restriction is not None:
        raise ApiError(403, "forbidden", "a key restricted to one session cannot create sessions")
    body = await load_body(request, _CREATE)
    # The tier decides the limit; read it fresh rather than trust the token's copy.
    user = await gw.users.by_id(caller.tenant_id)
    if user is None:
        raise unauthorized("the account no longer exists")
    session = await gw.rpc.call("session.create",
                                {**body, "tenant_id": user.user_id, "session_limit": user.session_limit})
    api_key, record = await gw.api_keys.create(session_id=session["session_id"], tenant_id=user.user_id)
    log.info("session.key_issued", session_id=record.session_id, key_id=record.key_id)
    return web.json_response({"session": session, "api_key": api_key, "api_key_id": record.key_id}, status=201)


@routes.get(f"{API}/sessions")
@api_doc(tags=TAGS, responses={200: SessionList})
@authenticated(scope="sessions:read")
async def list_sessions(request: web.Request) -> web.Response:
    """The caller's sessions."""
    caller = request[CALLER]
    reply = await gateway_of(request).rpc.call("session.list", {"tenant_id": caller.tenant_id})
    sessions = [s for s in reply["sessions"] if caller.may_act_on(s["session_id"])]
    return web.json_response({"sessions": sessions})


@routes.get(SESSION)
@api_doc(tags=TAGS, responses={200: {"session": SessionView}})
@authenticated(scope="sessions:read")
async def get_session(request: web.Request) -> web.Response:
    """One session, with its pending QR code if any."""
    return web.json_response({"session": await fetch_session(request, request.match_info["session_id"])})


@routes.post(f"{SESSION}/connect")
@api_doc(tags=TAGS, responses={202: {"session": SessionView}}, errors=(409,))
@authenticated(scope="sessions:write")
async def connect_session(request: web.Request) -> web.Response:
    """Phase 2: assign a worker and start the session there (QR follows)."""
    caller, session_id = request[CALLER], request.match_info["session_id"]
    if not caller.may_act_on(session_id):
        raise not_found("session")
    session = await gateway_of(request).rpc.call(
        "session.connect", {"tenant_id": caller.tenant_id, "session_id": session_id}, subject=session_id)
    return web.json_response({"session": session}, status=202)


@routes.get(f"{SESSION}/qr")
@api_doc(tags=TAGS, responses={200: Media({"application/json": _QR, "image/png": None, "image/svg+xml": None})},
         query=QrQuery,
         description="`format=raw` (default) answers JSON; `png` and `svg` answer the image to scan.")
@authenticated(scope="sessions:read")
async def session_qr(request: web.Request) -> web.Response:
    """The pending QR code of a session, raw or as a PNG/SVG image (404 `no_qr` when none or expired)."""
    kind = load_query(request, QrQuery())["format"]
    session = await fetch_session(request, request.match_info["session_id"])
    expires_at = session.get("qr_expires_at")
    if not session.get("qr") or (expires_at and _parse_time(expires_at) <= datetime.now(UTC)):
        raise ApiError(404, "no_qr", "no QR code is waiting to be scanned for this session",
                       {"status": session.get("status")})
    if kind != "raw":
        image, content_type = render_qr(session["qr"], kind)
        return web.Response(body=image, content_type=content_type,
                            headers={"Cache-Control": "no-store", "X-QR-Expires-At": expires_at or ""})
    return web.json_response({"qr": session["qr"], "expires_at": expires_at})


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
