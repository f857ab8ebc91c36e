"""What a session does in a chat besides sending: mark it read (the contact sees blue ticks), show
presence (typing, recording a voice note, paused) or be available / unavailable (online or not).
Asked of the orchestrator, which hands each to the session's worker; nothing is stored."""

from __future__ import annotations

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


def _check_presence_chat(data: dict) -> None:
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
    def _chat_matches_the_presence(self, data, **_kwargs):
        _check_presence_chat(data)


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
    def _chat_matches_the_presence(self, data, **_kwargs):
        _check_presence_chat(data)


CONTRACTS = [
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
