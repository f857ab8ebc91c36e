"""Messaging: sending, history and message events."""

from __future__ import annotations

from marshmallow import fields, validate

from . import fields as f
from .base import Contract, Kind, StrictSchema
from .sessions import SessionRef, TenantScoped

_SESSION_ID = "s_8f14e45fceea167a"
_TENANT_ID = "u_c9f0f895fb98ab91"
_MESSAGE_ID = "m_45c48cce2e2d7fbd"
_TIME = "2026-01-01T12:00:00Z"
MESSAGE_TYPES = ("text",)


class SendMessage(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    message_id = f.object_id()
    to = f.chat_id()
    type = fields.String(load_default="text", validate=validate.OneOf(MESSAGE_TYPES))
    text = f.text(4096, required=True)


class StatusStep(StrictSchema):
    status = f.message_status()
    at = f.timestamp()
    reason = fields.String(allow_none=True, load_default=None)


class MessageView(StrictSchema):
    message_id = f.object_id()
    session_id = f.object_id()
    tenant_id = f.object_id()
    direction = fields.String(required=True, validate=validate.OneOf(("outbound", "inbound")))
    chat = fields.String(required=True)
    sender = fields.String(allow_none=True, load_default=None)  # inbound only: who wrote it (in a group, not the chat)
    type = fields.String(required=True)
    text = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf((*f.MESSAGE_STATUSES, "received")))
    timeline = fields.List(fields.Nested(StatusStep), required=True)
    created_at = f.timestamp()


class ListMessages(SessionRef):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before = fields.String(load_default=None, allow_none=True)


class MessageList(StrictSchema):
    messages = fields.List(fields.Nested(MessageView), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class GetMessage(TenantScoped):
    message_id = f.object_id()


class MessageStatusEvent(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    message_id = f.object_id()
    status = f.message_status()
    to = fields.String(required=True)
    reason = fields.String(allow_none=True, load_default=None)
    at = f.timestamp()


class MessageReceived(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    message_id = f.object_id()
    chat = fields.String(required=True)
    sender = fields.String(required=True)
    type = fields.String(required=True)
    text = fields.String(required=True)
    at = f.timestamp()


_VIEW = {
    "message_id": _MESSAGE_ID, "session_id": _SESSION_ID, "tenant_id": _TENANT_ID, "direction": "outbound",
    "chat": "628123456789@s.whatsapp.net", "type": "text", "text": "Hello", "status": "sent",
    "timeline": [{"status": "queued", "at": _TIME, "reason": None}, {"status": "sent", "at": _TIME, "reason": None}],
    "created_at": _TIME,
}


def _status_event(status: str, summary: str, reason: str | None = None) -> Contract:
    return Contract(f"message.{status}", Kind.EVENT, MessageStatusEvent, summary,
                    {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "message_id": _MESSAGE_ID,
                     "status": status, "to": "628123456789@s.whatsapp.net", "reason": reason, "at": _TIME},
                    tags=("messages",))


CONTRACTS = [
    Contract("message.send", Kind.COMMAND, SendMessage, "Send a message through a session (accepted, then routed)",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "message_id": _MESSAGE_ID,
              "to": "628123456789", "type": "text", "text": "Hello"}, tags=("messages",)),
    Contract("message.list", Kind.QUERY, ListMessages, "A session's message history, newest first",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "limit": 50, "before": None},
             reply=MessageList, reply_example={"messages": [_VIEW], "next_cursor": None}, tags=("messages",)),
    Contract("message.get", Kind.QUERY, GetMessage, "One message with its status timeline",
             {"tenant_id": _TENANT_ID, "message_id": _MESSAGE_ID}, reply=MessageView, reply_example=_VIEW,
             tags=("messages",)),
    _status_event("queued", "A message was accepted and is waiting for its worker"),
    _status_event("sent", "WhatsApp accepted the message"),
    _status_event("delivered", "The message reached the recipient's phone"),
    _status_event("read", "The recipient read the message"),
    _status_event("failed", "The message could not be sent; `reason` says why", "session_not_connected"),
    Contract("message.received", Kind.EVENT, MessageReceived, "A message arrived for one of the tenant's sessions",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "message_id": _MESSAGE_ID,
              "chat": "628123456789@s.whatsapp.net", "sender": "628123456789@s.whatsapp.net", "type": "text",
              "text": "Hi there", "at": _TIME}, tags=("messages",)),
]
