"""The rest of a session's life, asked of the session orchestrator: pairing-code connect, disconnect,
log out, restart, rename or describe, delete. A command the session's state does not allow answers
409 `conflict` with the current `status` (and what the command is `accepted_from`)."""

from __future__ import annotations

from aiohttp import web
from wagw_common.contracts.sessions import PairSession, SessionView, UpdateSession
from wagw_common.logging import get_logger

from ..apidoc import api_doc
from ..auth import authenticated
from ..callers import CALLER
from ..deps import gateway_of
from ..errors import not_found
from ..validation import load_body
from .sessions import SESSION, TAGS

log = get_logger(__name__)
routes = web.RouteTableDef()
# The contracts' own schemas, minus what the gateway fills in from the caller's identity.
_UPDATE = UpdateSession(exclude=("tenant_id", "session_id"))
_PAIR = PairSession(exclude=("tenant_id", "session_id"))
_REPLY = {"session": SessionView}


async def _ask(request: web.Request, request_type: str, extra: dict | None = None) -> dict:
    caller, session_id = request[CALLER], request.match_info["session_id"]
    if not caller.may_act_on(session_id):
        raise not_found("session")
    return await gateway_of(request).rpc.call(
        request_type, {**(extra or {}), "tenant_id": caller.tenant_id, "session_id": session_id}, subject=session_id)


@routes.post(f"{SESSION}/pair")
@api_doc(tags=TAGS, body=_PAIR, responses={202: _REPLY}, errors=(409,))
@authenticated(scope="sessions:write")
async def pair_session(request: web.Request) -> web.Response:
    """Phase 2 with a pairing code: assign a worker, which shows a code to enter on that phone (`pairing_code`)."""
    body = await load_body(request, _PAIR)
    return web.json_response({"session": await _ask(request, "session.pair", body)}, status=202)


@routes.post(f"{SESSION}/disconnect")
@api_doc(tags=TAGS, responses={200: _REPLY}, errors=(409,))
@authenticated(scope="sessions:write")
async def disconnect_session(request: web.Request) -> web.Response:
    """Stop the session on its worker (DISCONNECTED); the phone stays linked, so a restart restores it."""
    return web.json_response({"session": await _ask(request, "session.disconnect")})


@routes.post(f"{SESSION}/logout")
@api_doc(tags=TAGS, responses={200: _REPLY}, errors=(409,))
@authenticated(scope="sessions:write")
async def logout_session(request: web.Request) -> web.Response:
    """Stop the session and unlink the phone (LOGGED_OUT); connecting again needs a new QR scan."""
    return web.json_response({"session": await _ask(request, "session.logout")})


@routes.post(f"{SESSION}/restart")
@api_doc(tags=TAGS, responses={202: _REPLY}, errors=(409,))
@authenticated(scope="sessions:write")
async def restart_session(request: web.Request) -> web.Response:
    """Stop the session and start it again from its stored credentials (RECONNECTING, then CONNECTED)."""
    return web.json_response({"session": await _ask(request, "session.restart")}, status=202)


@routes.patch(SESSION)
@api_doc(tags=TAGS, body=_UPDATE, responses={200: _REPLY})
@authenticated(scope="sessions:write")
async def update_session(request: web.Request) -> web.Response:
    """Rename, describe (`name`, `description`) and/or pace the session's sends (`pacing`; `null` removes it)."""
    body = await load_body(request, _UPDATE)
    return web.json_response({"session": await _ask(request, "session.update", body)})


@routes.delete(SESSION)
@api_doc(tags=TAGS, responses={204: None})
@authenticated(scope="sessions:write", keys=False)
async def delete_session(request: web.Request) -> web.Response:
    """Delete a session: stopped and unlinked on its worker, its history deleted, its keys revoked (204)."""
    await _ask(request, "session.delete")
    # At once here; `session.deleted` does it too (session_events), for a gateway that died just now.
    await gateway_of(request).api_keys.revoke_for_session(request[CALLER].tenant_id, request.match_info["session_id"])
    return web.Response(status=204)
