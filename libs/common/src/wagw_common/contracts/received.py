"""Received messages: what a worker reports arriving (every WhatsApp message type, media described,
never carried), its later edits and deletions, and the events the platform makes of them."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from . import fields as f
from .base import Contract, Kind, StrictSchema
from .messages import (
    MEDIA_TYPES, MESSAGE_TYPES, ContactCard, Location, MediaDescription, Poll, PollVoteView, ReactionView,
    check_parts_match_type,
)

_WORKER = "worker-1"
_SESSION_ID = "s_8f14e45fceea167a"
_TENANT_ID = "u_c9f0f895fb98ab91"
_MESSAGE_ID = "m_in_5f4dcc3b5aa765d61d8327deb882cf99"
_WA_ID = "3EB0C767D26A1D0B8E3F"
_CHAT = "628123456789@s.whatsapp.net"
_TIME = "2026-01-01T12:00:00Z"
RECEIVED_TYPES = (*MESSAGE_TYPES, "poll_vote")
RECEIVED_CONTENT_OF_TYPE = {**{t: "media" for t in MEDIA_TYPES}, "location": "location",
                            "contact": "contact", "reaction": "reaction", "poll": "poll", "poll_vote": "poll_vote"}
# The parts of a received message besides its type and text, as history and events show them.
RECEIVED_PARTS = ("media", "location", "contact", "reaction", "poll", "poll_vote", "reply_to", "sender_phone")


class ReceivedReaction(StrictSchema):
    wa_message_id = f.text(128, required=True)  # WhatsApp's id of the message reacted to
    emoji = fields.String(required=True, validate=validate.Length(max=16))  # empty: the reaction was removed


class ReceivedPollVote(StrictSchema):
    wa_message_id = f.text(128, required=True)  # WhatsApp's id of the poll voted in
    options = fields.List(f.text(100), required=True, validate=validate.Length(max=12))  # empty: vote withdrawn


class ReceivedContent(StrictSchema):
    """What a received message carries, checked against its type (as for a send)."""

    type = fields.String(load_default="text", validate=validate.OneOf(RECEIVED_TYPES))
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=65536))
    media = fields.Nested(MediaDescription, load_default=None, allow_none=True)
    location = fields.Nested(Location, load_default=None, allow_none=True)
    contact = fields.Nested(ContactCard, load_default=None, allow_none=True)
    reaction = fields.Nested(ReceivedReaction, load_default=None, allow_none=True)
    poll = fields.Nested(Poll, load_default=None, allow_none=True)
    poll_vote = fields.Nested(ReceivedPollVote, load_default=None, allow_none=True)
    # WhatsApp's id of the message this one quotes (a reply).
    reply_to_wa_message_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    # The sender's number (international digits) when `sender` is a hidden `…@lid` id and the worker knows it.
    sender_phone = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[0-9]{6,15}$"))

    @validates_schema(skip_on_field_errors=False)
    def _parts_match_the_type(self, data: dict[str, Any], **_kwargs: Any) -> None:
        check_parts_match_type(data, RECEIVED_CONTENT_OF_TYPE)


class WorkerMessageDeleted(StrictSchema):
    """Names the message one of two ways: a received one by WhatsApp's id (as its inbound report did), one
    the session sent by the platform's id (as `worker.message.send` did)."""

    worker_id = f.worker_id()
    session_id = f.object_id()
    wa_message_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=128))
    message_id = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"))
    at = f.timestamp()

    @validates_schema(skip_on_field_errors=False)
    def _names_one_message(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if (data.get("wa_message_id") is None) == (data.get("message_id") is None):
            raise ValidationError("give exactly one of wa_message_id (received) and message_id (sent)", "message_id")


class WorkerMessageEdited(WorkerMessageDeleted):
    text = fields.String(required=True, validate=validate.Length(min=1, max=65536))


class AboutAMessage(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    message_id = f.object_id()
    chat = fields.String(required=True)


class MessageReceived(AboutAMessage):
    sender = fields.String(required=True)  # may be a hidden `…@lid` id: a reply to it works as to a number
    sender_phone = fields.String(load_default=None, allow_none=True)  # the sender's number, when known
    type = fields.String(required=True, validate=validate.OneOf(RECEIVED_TYPES))
    text = fields.String(required=True, allow_none=True)  # a media message's caption; null when none
    media = fields.Nested(MediaDescription, load_default=None, allow_none=True)
    location = fields.Nested(Location, load_default=None, allow_none=True)
    contact = fields.Nested(ContactCard, load_default=None, allow_none=True)
    reaction = fields.Nested(ReactionView, load_default=None, allow_none=True)
    poll = fields.Nested(Poll, load_default=None, allow_none=True)
    poll_vote = fields.Nested(PollVoteView, load_default=None, allow_none=True)
    # The message quoted, when it is in this session's history.
    reply_to = fields.String(load_default=None, allow_none=True)
    # Where the tenant gets the stored file: GET it (authenticated) for an expiring download link. A path
    # rather than the link itself, since a webhook may be delivered after any link has expired. Null: no file.
    media_link = fields.String(load_default=None, allow_none=True)
    at = f.timestamp()


class MessageChanged(AboutAMessage):
    direction = fields.String(required=True, validate=validate.OneOf(("outbound", "inbound")))
    text = fields.String(load_default=None, allow_none=True)  # message.edited: the new text
    at = f.timestamp()


_IMAGE = {"mimetype": "image/jpeg", "size": 48213, "filename": None, "ptt": False,
          "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
_CHANGED = {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "message_id": _MESSAGE_ID, "chat": _CHAT,
            "direction": "inbound", "at": _TIME}

CONTRACTS = [
    Contract("worker.message.edited", Kind.WORKER_UPLINK, WorkerMessageEdited,
             "A message was edited: a received one by its sender, or one the session sent, as asked "
             "(`worker.message.edit`)",
             {"worker_id": _WORKER, "session_id": _SESSION_ID, "wa_message_id": _WA_ID, "message_id": None,
              "text": "Hi there!", "at": _TIME}, tags=("workers",)),
    Contract("worker.message.deleted", Kind.WORKER_UPLINK, WorkerMessageDeleted,
             "A message was deleted for everyone: a received one by its sender, or one the session sent, as "
             "asked (`worker.message.revoke`)",
             {"worker_id": _WORKER, "session_id": _SESSION_ID, "wa_message_id": None,
              "message_id": "m_45c48cce2e2d7fbd", "at": _TIME}, tags=("workers",)),
    Contract("message.received", Kind.EVENT, MessageReceived,
             "A message arrived for one of the tenant's sessions: text, media (described: type, size, SHA-256, "
             "caption, file name; the file itself through `media_link`), location, contact, reaction or reply",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "message_id": _MESSAGE_ID, "chat": _CHAT,
              "sender": _CHAT, "sender_phone": None, "type": "image", "text": "the receipt", "media": _IMAGE,
              "location": None, "contact": None, "reaction": None, "poll": None, "poll_vote": None, "reply_to": None,
              "media_link": f"/api/v1/messages/{_MESSAGE_ID}/media-link", "at": _TIME}, tags=("messages",)),
    Contract("message.edited", Kind.EVENT, MessageChanged, "A message's text was changed (`text` is the new one)",
             {**_CHANGED, "text": "Hi there!"}, tags=("messages",)),
    Contract("message.deleted", Kind.EVENT, MessageChanged,
             "A message was deleted for everyone (history keeps it, marked deleted)",
             {**_CHANGED, "text": None}, tags=("messages",)),
]
