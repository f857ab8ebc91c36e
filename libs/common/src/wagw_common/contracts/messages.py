"""Messaging: sending, history and message events."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from . import fields as f
from .base import Contract, Kind, StrictSchema
from .sessions import SessionRef, TenantScoped, normalise_phone

_SESSION_ID = "s_8f14e45fceea167a"
_TENANT_ID = "u_c9f0f895fb98ab91"
_MESSAGE_ID = "m_45c48cce2e2d7fbd"
_TIME = "2026-01-01T12:00:00Z"
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
MESSAGE_TYPES = ("text", *MEDIA_TYPES, "location", "contact", "reaction", "poll")
# Types that carry no text: no caption, nothing to edit.
TEXTLESS_TYPES = ("sticker", "location", "contact", "reaction", "poll", "poll_vote")
# The part of a message each type needs besides `text` (which is the caption of a media message).
CONTENT_OF_TYPE = {**{t: "media" for t in MEDIA_TYPES}, "location": "location", "contact": "contact",
                   "reaction": "reaction", "poll": "poll"}
CONTENT_FIELDS = ("media", "location", "contact", "reaction", "poll", "reply_to")
# A person by number (`@s.whatsapp.net`) or by the hidden id WhatsApp now gives senders (`@lid`), a group.
_CHAT_ID = re.compile(r"^([0-9]{6,15}@s\.whatsapp\.net|[0-9]{6,20}@lid|[0-9]{6,20}(-[0-9]{6,12})?@g\.us)$")


class Recipient(fields.String):
    """A phone number (normalised to its E.164 digits) or a WhatsApp chat id (`…@s.whatsapp.net`, a
    sender's `…@lid`, a group's `…@g.us`), which is kept as it is."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if "@" in text:
            if not _CHAT_ID.match(text):
                raise ValidationError("not a WhatsApp chat id (…@s.whatsapp.net, …@lid or …@g.us)")
            return text
        return normalise_phone(text)


class Media(StrictSchema):
    url = fields.Url(required=True, schemes=("http", "https"), validate=validate.Length(max=2048))
    filename = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=255))
    mimetype = fields.String(load_default=None, allow_none=True,
                             validate=validate.Regexp(r"^[a-z]+/[A-Za-z0-9.+-]+$", error="not a MIME type"))
    # Audio sent as a voice note (played as recorded in the chat). Absent unless given: a worker of an
    # older version refuses a field it does not know.
    ptt = fields.Boolean()


class MediaDescription(StrictSchema):
    """A received file as the worker describes it: messages never carry the bytes."""

    # WhatsApp's own carry parameters (`audio/ogg; codecs=opus`).
    mimetype = fields.String(required=True, validate=[validate.Length(max=128), validate.Regexp(
        r"^[a-z]+/[A-Za-z0-9.+-]+(\s*;\s*[A-Za-z0-9._-]+=[A-Za-z0-9._\"+-]+)*$", error="not a MIME type")])
    size = fields.Integer(required=True, validate=validate.Range(min=0))  # bytes
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="not a hex SHA-256"))
    filename = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=255))
    ptt = fields.Boolean(load_default=False)  # a voice note (recorded in the chat), not an audio file


class MediaView(StrictSchema):
    """Media in history: sent ones by their URL (Media), received ones by their description."""

    url = fields.String(load_default=None, allow_none=True)
    filename = fields.String(load_default=None, allow_none=True)
    mimetype = fields.String(load_default=None, allow_none=True)
    size = fields.Integer(load_default=None, allow_none=True)
    sha256 = fields.String(load_default=None, allow_none=True)
    ptt = fields.Boolean(load_default=None, allow_none=True)


class ReactionView(StrictSchema):
    # The message reacted to; null when it is not in this session's history (older than the link).
    message_id = fields.String(required=True, allow_none=True)
    emoji = fields.String(required=True)  # empty: the reaction was removed


class Location(StrictSchema):
    latitude = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=256))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=512))


class ContactCard(StrictSchema):
    name = f.text(256, required=True)
    phone = Recipient(required=True)


class Reaction(StrictSchema):
    message_id = f.object_id()  # the message reacted to (an id of this session's history)
    emoji = fields.String(required=True, validate=validate.Length(max=16))  # empty: remove the reaction


def check_parts_match_type(data: dict[str, Any], content_of_type: dict[str, str]) -> None:
    """A message carries exactly the part its type needs (`content_of_type`), and text only where it
    is the message or a media caption."""
    kind = data.get("type", "text")
    needed = content_of_type.get(kind)
    errors = {}
    if kind == "text" and not data.get("text"):
        errors["text"] = ["required when type is text"]
    if needed and data.get(needed) is None:
        errors[needed] = [f"required when type is {kind}"]
    for part in ("media", "location", "contact", "reaction", "poll", "poll_vote"):
        if part != needed and data.get(part) is not None:
            errors[part] = [f"not allowed when type is {kind}"]
    if kind in TEXTLESS_TYPES and data.get("text"):
        errors["text"] = [f"not allowed when type is {kind} (a caption is for media)"]
    if (data.get("media") or {}).get("ptt") and kind != "audio":
        errors["media"] = ["ptt (a voice note) is for type audio"]
    if errors:
        raise ValidationError(errors)


class Poll(StrictSchema):
    name = f.text(255, required=True)
    options = fields.List(f.text(100), required=True, validate=validate.Length(min=2, max=12))
    selectable_count = fields.Integer(load_default=1, validate=validate.Range(min=0, max=12))  # 0: any number

    @validates_schema(skip_on_field_errors=True)
    def _options_are_distinct(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if len(set(data["options"])) != len(data["options"]):
            raise ValidationError("options must differ from one another", "options")
        if data["selectable_count"] > len(data["options"]):
            raise ValidationError("more than there are options", "selectable_count")


class PollVoteView(StrictSchema):
    # The poll voted in; null when it is not in this session's history.
    message_id = fields.String(required=True, allow_none=True)
    options = fields.List(fields.String(), required=True)  # the voter's choice now; empty: withdrawn


class MessageContent(StrictSchema):
    """What a message carries besides its type and text: checked against the type."""

    type = fields.String(load_default="text", validate=validate.OneOf(MESSAGE_TYPES))
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=4096))
    media = fields.Nested(Media, load_default=None, allow_none=True)
    location = fields.Nested(Location, load_default=None, allow_none=True)
    contact = fields.Nested(ContactCard, load_default=None, allow_none=True)
    reaction = fields.Nested(Reaction, load_default=None, allow_none=True)
    poll = fields.Nested(Poll, load_default=None, allow_none=True)
    reply_to = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"))

    @validates_schema(skip_on_field_errors=False)
    def _parts_match_the_type(self, data: dict[str, Any], **_kwargs: Any) -> None:
        check_parts_match_type(data, CONTENT_OF_TYPE)


class SendMessage(MessageContent):
    tenant_id = f.object_id()
    session_id = f.object_id()
    message_id = f.object_id()
    to = Recipient(required=True)
    # Accept it even when the session is not CONNECTED, and send it once it is (a bounded number per
    # session is held, each for a bounded time; see the orchestrator's README); without it such a
    # send is refused at once (409 session_not_connected), except while the session is RECONNECTING.
    queue = fields.Boolean(load_default=False)


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
    # inbound: the number of an `…@lid` sender, if known
    sender_phone = fields.String(allow_none=True, load_default=None)
    type = fields.String(required=True)
    text = fields.String(required=True, allow_none=True)  # the caption of a media message; null when none
    media = fields.Nested(MediaView, load_default=None, allow_none=True)
    location = fields.Nested(Location, load_default=None, allow_none=True)
    contact = fields.Nested(ContactCard, load_default=None, allow_none=True)
    reaction = fields.Nested(ReactionView, load_default=None, allow_none=True)
    poll = fields.Nested(Poll, load_default=None, allow_none=True)
    poll_vote = fields.Nested(PollVoteView, load_default=None, allow_none=True)
    reply_to = fields.String(load_default=None, allow_none=True)
    wa_message_id = fields.String(load_default=None, allow_none=True)  # WhatsApp's id, once known
    edited_at = fields.AwareDateTime(load_default=None, allow_none=True)  # when its text was last changed
    deleted_at = fields.AwareDateTime(load_default=None, allow_none=True)  # deleted for everyone (kept here)
    status = fields.String(required=True, validate=validate.OneOf((*f.MESSAGE_STATUSES, "received")))
    timeline = fields.List(fields.Nested(StatusStep), required=True)
    created_at = f.timestamp()


class ListMessages(SessionRef):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    before = fields.String(load_default=None, allow_none=True)  # the cursor a previous page gave
    direction = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("outbound", "inbound")))
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf((*f.MESSAGE_STATUSES, "received")))
    chat = Recipient(load_default=None, allow_none=True)
    since = fields.AwareDateTime(load_default=None, allow_none=True)  # created at or after
    until = fields.AwareDateTime(load_default=None, allow_none=True)  # created before


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
    Contract("message.list", Kind.QUERY, ListMessages,
             "A session's message history, newest first, filtered by direction, status, chat and time range",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "limit": 50, "before": None, "direction": "outbound",
              "status": None, "chat": None, "since": "2026-01-01T00:00:00Z", "until": None},
             reply=MessageList, reply_example={"messages": [_VIEW], "next_cursor": None}, tags=("messages",)),
    Contract("message.get", Kind.QUERY, GetMessage, "One message with its status timeline",
             {"tenant_id": _TENANT_ID, "message_id": _MESSAGE_ID}, reply=MessageView, reply_example=_VIEW,
             tags=("messages",)),
    _status_event("queued", "A message was accepted and is waiting for its worker"),
    _status_event("sent", "WhatsApp accepted the message"),
    _status_event("delivered", "The message reached the recipient's phone"),
    _status_event("read", "The recipient read the message"),
    _status_event("failed", "The message could not be sent; `reason` says why", "session_not_connected"),
]
