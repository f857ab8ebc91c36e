"""Changing a sent message: edit its text, revoke it (delete for everyone). Asked of the orchestrator,
which answers at once (404 for another tenant's or another session's message, 409 with the reason when
WhatsApp would refuse); history changes when the worker confirms (`message.edited` / `message.deleted`)."""

from __future__ import annotations

from aiohttp import web
from wagw_common.contracts.message_changes import EditMessage
from wagw_common.contracts.messages import MessageView

from ..apidoc import api_doc
from ..auth import authenticated
from ..callers import CALLER
from ..deps import gateway_of
from ..validation import load_body
from .paths import API, param

routes = web.RouteTableDef()
MESSAGE = f"{API}/messages/{param('message_id')}"
_EDIT = EditMessage(exclude=("tenant_id", "message_id", "session_id"))
_REPLY = {"message": MessageView}
TAGS = ("messages",)


async def _ask(request: web.Request, request_type: str, extra: dict | None = None) -> web.Response:
    caller, message_id = request[CALLER], request.match_info["message_id"]
    message = await gateway_of(request).rpc.call(request_type, {
        **(extra or {}), "tenant_id": caller.tenant_id, "message_id": message_id,
        "session_id": caller.session_restriction}, subject=message_id)
    return web.json_response({"message": message}, status=202)


@routes.post(f"{MESSAGE}/edit")
@api_doc(tags=TAGS, body=_EDIT, responses={202: _REPLY}, errors=(409,))
@authenticated(scope="messages:send")
async def edit_message(request: web.Request) -> web.Response:
    """Edit a sent message's text or caption, within 15 minutes of sending (WhatsApp's window): 202 once its session's
    worker has it (`message.edited` follows when WhatsApp took it); 409 with `details.reason` when it cannot be
    edited."""
    return await _ask(request, "message.edit", await load_body(request, _EDIT))


@routes.post(f"{MESSAGE}/revoke")
@api_doc(tags=TAGS, responses={202: _REPLY}, errors=(409,))
@authenticated(scope="messages:send")
async def revoke_message(request: web.Request) -> web.Response:
    """Delete a sent message for everyone: 202 once its session's worker has it (`message.deleted` follows when
    WhatsApp took it); 409 with `details.reason` when it cannot be."""
    return await _ask(request, "message.revoke")
