"""Changing a message sent earlier: edit its text (or caption), revoke it (delete for everyone).
Asked of the orchestrator, which refuses what WhatsApp would refuse and hands the rest to the
session's worker; the worker confirms with `worker.message.edited` / `worker.message.deleted`, and
only then does history change (`message.edited` / `message.deleted`)."""

from __future__ import annotations

from marshmallow import fields, validate

from . import fields as f
from .base import Contract, Kind, StrictSchema
from .messages import MEDIA_TYPES, TEXTLESS_TYPES, MessageView
from .sessions import TenantScoped

_SESSION_ID = "s_8f14e45fceea167a"
_TENANT_ID = "u_c9f0f895fb98ab91"
_MESSAGE_ID = "m_45c48cce2e2d7fbd"
_CHAT = "628123456789@s.whatsapp.net"
_TIME = "2026-01-01T12:00:00Z"
EDIT_WINDOW_MINUTES = 15  # how long after sending WhatsApp lets a message be edited
EDITABLE_TYPES = tuple(t for t in ("text", *MEDIA_TYPES) if t not in TEXTLESS_TYPES)  # a text, or a caption
# Why a change is refused (409 `conflict`, in `details.reason`).
CHANGE_REFUSALS = ("received", "not_sent", "deleted", "not_editable", "edit_window_passed", "session_not_connected")


class ChangeMessage(TenantScoped):
    message_id = f.object_id()
    # The one session the caller may act on (an API key bound to it): another session's message is not found.
    session_id = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"))


class EditMessage(ChangeMessage):
    text = f.text(4096, required=True)


class WorkerRevokeMessage(StrictSchema):
    session_id = f.object_id()
    message_id = f.object_id()  # as the worker's `worker.message.send` named it
    chat = f.text(128, required=True)


class WorkerEditMessage(WorkerRevokeMessage):
    text = f.text(4096, required=True)


_VIEW = {
    "message_id": _MESSAGE_ID, "session_id": _SESSION_ID, "tenant_id": _TENANT_ID, "direction": "outbound",
    "chat": _CHAT, "type": "text", "text": "Helo", "status": "read",
    "timeline": [{"status": "queued", "at": _TIME, "reason": None}, {"status": "read", "at": _TIME, "reason": None}],
    "created_at": _TIME, "edited_at": None, "deleted_at": None,
}

CONTRACTS = [
    Contract("message.edit", Kind.QUERY, EditMessage,
             f"Edit a sent message's text or caption (within {EDIT_WINDOW_MINUTES} minutes of sending): handed to "
             "the session's worker; the reply is the message as it is until the worker confirms",
             {"tenant_id": _TENANT_ID, "message_id": _MESSAGE_ID, "session_id": None, "text": "Hello"},
             reply=MessageView, reply_example=_VIEW, tags=("messages",)),
    Contract("message.revoke", Kind.QUERY, ChangeMessage,
             "Delete a sent message for everyone: handed to the session's worker; the reply is the message as it "
             "is until the worker confirms",
             {"tenant_id": _TENANT_ID, "message_id": _MESSAGE_ID, "session_id": None},
             reply=MessageView, reply_example=_VIEW, tags=("messages",)),
    Contract("worker.message.edit", Kind.WORKER_COMMAND, WorkerEditMessage,
             "Edit a message this session sent (named by the platform's message id); confirm with "
             "`worker.message.edited` carrying `message_id`",
             {"session_id": _SESSION_ID, "message_id": _MESSAGE_ID, "chat": _CHAT, "text": "Hello"},
             tags=("workers",)),
    Contract("worker.message.revoke", Kind.WORKER_COMMAND, WorkerRevokeMessage,
             "Delete a message this session sent for everyone; confirm with `worker.message.deleted` carrying "
             "`message_id`",
             {"session_id": _SESSION_ID, "message_id": _MESSAGE_ID, "chat": _CHAT}, tags=("workers",)),
]
