"""Forwarding a message of a session's history to another chat: sent through the same session as a
new message with the same content, by the same path as `POST /send` (idempotent, counted, limited)."""

from __future__ import annotations

from aiohttp import web
from marshmallow import ValidationError
from wagw_common.contracts.messages import CONTENT_FIELDS, Media

from ..apidoc import api_doc
from ..auth import authenticated
from ..callers import CALLER
from ..deps import gateway_of
from ..errors import ApiError, not_found
from ..idempotent import IDEMPOTENCY_HEADER
from ..schemas import ForwardBody, SendAccepted
from ..validation import load_body
from .messages import SEND_BODY, queue_message
from .paths import API, param

routes = web.RouteTableDef()
_FORWARD = ForwardBody()
_MEDIA_FIELDS = tuple(Media().fields)
# What a forward does not carry: a reaction belongs to its message, a reply to its chat.
_NOT_FORWARDED = ("reaction", "reply_to")


def _content(message: dict) -> dict:
    """The message's content as a send's body; 409 when it cannot be sent again."""
    if message["type"] == "reaction":
        raise ApiError(409, "conflict", "a reaction cannot be forwarded", {"reason": "not_forwardable"})
    media = message.get("media")
    if media is not None and not media.get("url"):
        raise ApiError(409, "conflict", "a received file is described, not stored: it cannot be sent again",
                       {"reason": "media_not_stored"})
    body = {"type": message["type"], "text": message.get("text")}
    body.update({part: message[part] for part in CONTENT_FIELDS
                 if message.get(part) is not None and part not in _NOT_FORWARDED})
    if media is not None:
        body["media"] = {name: media[name] for name in _MEDIA_FIELDS if media.get(name) is not None}
    return body


@routes.post(f"{API}/messages/{param('message_id')}/forward")
@api_doc(tags=("messages",), body=_FORWARD, responses={202: SendAccepted}, errors=(409,),
         headers={IDEMPOTENCY_HEADER: "makes a retried forward a no-op (kept 24 hours)"})
@authenticated(scope="messages:send", send=True)
async def forward_message(request: web.Request) -> web.Response:
    """Send a message of the session's history (sent or received) again to `to`, through the same session: 202 with the
    new message's id, as for /send; 409 when its content cannot be sent again (a reaction, a received file)."""
    caller = request[CALLER]
    body = await load_body(request, _FORWARD)
    message = await gateway_of(request).rpc.call(
        "message.get", {"tenant_id": caller.tenant_id, "message_id": request.match_info["message_id"]})
    if not caller.may_act_on(message["session_id"]):
        raise not_found("message")
    try:
        send = SEND_BODY.load({**_content(message), "to": body["to"], "queue": body["queue"]})
    except ValidationError as exc:  # history keeps what a send may not carry (a received text's length, say)
        raise ApiError(409, "conflict", "this message cannot be sent again as it is",
                       {"reason": "not_forwardable", "fields": exc.messages}) from None
    return await queue_message(request, message["session_id"], send)
