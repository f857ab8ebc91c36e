"""A session's chats: the list from history, marking one read, showing presence (typing, recording,
paused; available or unavailable). Asked of the orchestrator; read and presence are handed to the
session's worker at once: 202, or 409 `conflict` (`details.reason`: `session_not_connected`)."""

from __future__ import annotations

from aiohttp import web
from wagw_common.contracts.chat_actions import ChatActionAccepted, ChatList, ListChats, MarkChatRead, SetPresence

from ..apidoc import api_doc
from ..auth import authenticated
from ..callers import CALLER
from ..deps import gateway_of
from ..errors import not_found
from ..validation import load_body, load_query
from .sessions import SESSION

routes = web.RouteTableDef()
# The contracts' own schemas, minus what the gateway fills in from the caller's identity and the path.
_READ = MarkChatRead(exclude=("tenant_id", "session_id"))
_PRESENCE = SetPresence(exclude=("tenant_id", "session_id"))
_LIST = ListChats(exclude=("tenant_id", "session_id"))
TAGS = ("messages",)


async def _ask(request: web.Request, request_type: str, data: dict) -> dict:
    caller, session_id = request[CALLER], request.match_info["session_id"]
    if not caller.may_act_on(session_id):
        raise not_found("session")
    return await gateway_of(request).rpc.call(
        request_type, {**data, "tenant_id": caller.tenant_id, "session_id": session_id}, subject=session_id)


@routes.get(f"{SESSION}/chats")
@api_doc(tags=TAGS, query=_LIST, responses={200: ChatList})
@authenticated(scope="messages:read")
async def list_chats(request: web.Request) -> web.Response:
    """The session's chats from its history, the latest active first: each one's last message and its count of received
    messages not marked read (`limit`)."""
    return web.json_response(await _ask(request, "message.chats", load_query(request, _LIST)))


@routes.post(f"{SESSION}/chats/read")
@api_doc(tags=TAGS, body=_READ, responses={202: ChatActionAccepted}, errors=(409,))
@authenticated(scope="messages:send")
async def mark_chat_read(request: web.Request) -> web.Response:
    """Mark a chat's received messages read (the contact sees them read): 202 once the session's worker has it."""
    return web.json_response(await _ask(request, "session.read_chat", await load_body(request, _READ)), status=202)


@routes.post(f"{SESSION}/presence")
@api_doc(tags=TAGS, body=_PRESENCE, responses={202: ChatActionAccepted}, errors=(409,))
@authenticated(scope="messages:send")
async def set_presence(request: web.Request) -> web.Response:
    """Show `typing`, `recording` or `paused` in a `chat`, or the session `available` / `unavailable` (no chat): 202
    once the session's worker has it."""
    return web.json_response(await _ask(request, "session.presence", await load_body(request, _PRESENCE)),
                             status=202)
