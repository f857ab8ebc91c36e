"""A session's chats: the list of them from history (last message, unread count), marking one read
(the contact sees blue ticks; history stops counting it unread), and presence (typing, recording a
voice note, paused; available / unavailable). Read and presence are handed to the session's worker."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from . import fields as f
from .base import Contract, Kind, StrictSchema
from .messages import Recipient
from .sessions import SessionRef

_SESSION_ID = "s_8f14e45fceea167a"
_TENANT_ID = "u_c9f0f895fb98ab91"
_CHAT = "628123456789@s.whatsapp.net"
CHAT_PRESENCES = ("typing", "recording", "paused")  # shown in one chat
SESSION_PRESENCES = ("available", "unavailable")  # the session's own: online or not, for every contact
PRESENCES = (*CHAT_PRESENCES, *SESSION_PRESENCES)


def _check_presence_chat(data: dict[str, Any]) -> None:
    if data["presence"] in CHAT_PRESENCES and data.get("chat") is None:
        raise ValidationError(f"required for presence {data['presence']}", "chat")
    if data["presence"] in SESSION_PRESENCES and data.get("chat") is not None:
        raise ValidationError(f"not allowed for presence {data['presence']} (it is the session's own)", "chat")


class MarkChatRead(SessionRef):
    chat = Recipient(required=True)


class SetPresence(SessionRef):
    presence = fields.String(required=True, validate=validate.OneOf(PRESENCES))
    chat = Recipient(load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=True)
    def _chat_matches_the_presence(self, data: dict[str, Any], **_kwargs: Any) -> None:
        _check_presence_chat(data)


class ListChats(SessionRef):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class LastMessage(StrictSchema):
    message_id = f.object_id()
    direction = fields.String(required=True, validate=validate.OneOf(("outbound", "inbound")))
    type = fields.String(required=True)
    text = fields.String(required=True, allow_none=True)
    status = fields.String(required=True)
    created_at = f.timestamp()


class ChatSummary(StrictSchema):
    chat = fields.String(required=True)
    last_message = fields.Nested(LastMessage, required=True)
    unread = fields.Integer(required=True)  # received messages not marked read since


class ChatList(StrictSchema):
    chats = fields.List(fields.Nested(ChatSummary), required=True)  # the latest active first


class ChatActionAccepted(StrictSchema):
    session_id = f.object_id()
    action = fields.String(required=True, validate=validate.OneOf(("read", "presence")))
    chat = fields.String(required=True, allow_none=True)  # as a WhatsApp id
    presence = fields.String(required=True, allow_none=True, validate=validate.OneOf(PRESENCES))


class WorkerMarkChatRead(StrictSchema):
    session_id = f.object_id()
    chat = f.text(128, required=True)


class WorkerSetPresence(StrictSchema):
    session_id = f.object_id()
    presence = fields.String(required=True, validate=validate.OneOf(PRESENCES))
    chat = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=128))

    @validates_schema(skip_on_field_errors=True)
    def _chat_matches_the_presence(self, data: dict[str, Any], **_kwargs: Any) -> None:
        _check_presence_chat(data)


CONTRACTS = [
    Contract("message.chats", Kind.QUERY, ListChats,
             "A session's chats from its history, the latest active first, with each one's last message and "
             "how many received messages are not marked read",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "limit": 50}, reply=ChatList,
             reply_example={"chats": [{"chat": _CHAT, "unread": 2, "last_message": {
                 "message_id": "m_in_5f4dcc3b5aa765d61d8327deb882cf99", "direction": "inbound", "type": "text",
                 "text": "Are you open today?", "status": "received", "created_at": "2026-01-01T12:00:00Z"}}]},
             tags=("messages",)),
    Contract("session.read_chat", Kind.QUERY, MarkChatRead,
             "Mark a chat's received messages read (the contact sees them read): handed to the session's worker",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "chat": "628123456789"},
             reply=ChatActionAccepted,
             reply_example={"session_id": _SESSION_ID, "action": "read", "chat": _CHAT, "presence": None},
             tags=("messages",)),
    Contract("session.presence", Kind.QUERY, SetPresence,
             "Show typing, recording or paused in a chat, or the session available / unavailable: handed to the "
             "session's worker",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "presence": "typing", "chat": "628123456789"},
             reply=ChatActionAccepted,
             reply_example={"session_id": _SESSION_ID, "action": "presence", "chat": _CHAT, "presence": "typing"},
             tags=("messages",)),
    Contract("worker.chat.read", Kind.WORKER_COMMAND, WorkerMarkChatRead,
             "Mark a chat's received messages read on WhatsApp", {"session_id": _SESSION_ID, "chat": _CHAT},
             tags=("workers",)),
    Contract("worker.chat.presence", Kind.WORKER_COMMAND, WorkerSetPresence,
             "Send a presence: `typing`, `recording`, `paused` in `chat`; `available`, `unavailable` for the "
             "session (no chat)",
             {"session_id": _SESSION_ID, "presence": "typing", "chat": _CHAT}, tags=("workers",)),
]
