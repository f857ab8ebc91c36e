"""A session's doings in a chat besides sending: mark it read, show presence (typing, recording,
paused; available or unavailable). Asked of the orchestrator, which hands each to the session's worker
at once: 202, or 409 `conflict` (`details.reason`: `session_not_connected`)."""

from __future__ import annotations

from aiohttp import web
from wagw_common.contracts.chat_actions import ChatActionAccepted, MarkChatRead, SetPresence

from ..apidoc import api_doc
from ..auth import authenticated
from ..callers import CALLER
from ..dependencies import gateway_of
from ..errors import not_found
from ..validation import load_body
from .sessions import SESSION

routes = web.RouteTableDef()
# The contracts' own schemas, minus what the gateway fills in from the caller's identity and the path.
_READ = MarkChatRead(exclude=("tenant_id", "session_id"))
_PRESENCE = SetPresence(exclude=("tenant_id", "session_id"))
TAGS = ("messages",)


async def _ask(request: web.Request, request_type: str, schema) -> web.Response:
    caller, session_id = request[CALLER], request.match_info["session_id"]
    body = await load_body(request, schema)
    if not caller.may_act_on(session_id):
        raise not_found("session")
    accepted = await gateway_of(request).rpc.call(
        request_type, {**body, "tenant_id": caller.tenant_id, "session_id": session_id}, subject=session_id)
    return web.json_response(accepted, status=202)


@routes.post(f"{SESSION}/chats/read")
@api_doc(tags=TAGS, body=_READ, responses={202: ChatActionAccepted}, errors=(409,))
@authenticated(scope="messages:send")
async def mark_chat_read(request: web.Request) -> web.Response:
    """Mark a chat's received messages read (the contact sees them read): 202 once the session's worker has it."""
    return await _ask(request, "session.read_chat", _READ)


@routes.post(f"{SESSION}/presence")
@api_doc(tags=TAGS, body=_PRESENCE, responses={202: ChatActionAccepted}, errors=(409,))
@authenticated(scope="messages:send")
async def set_presence(request: web.Request) -> web.Response:
    """Show `typing`, `recording` or `paused` in a `chat`, or the session `available` / `unavailable` (no chat): 202 once the session's worker has it."""
    return await _ask(request, "session.presence", _PRESENCE)
