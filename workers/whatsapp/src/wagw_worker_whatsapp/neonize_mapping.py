"""neonize's (whatsmeow's) protobuf types ↔ the worker's own terms, as plain functions: library events
to `client` events, inbound WhatsApp messages to the protocol's types, outbound `Outbound` messages to
WhatsApp messages. Each message type is one entry in `INBOUND` and one in `OUTBOUND`: a type the
contracts add is one mapping each way. Only imported after `library.load_neonize()` passed."""

from __future__ import annotations

import time
from typing import Any, Callable

from .library import load_neonize

load_neonize()  # the checks run before neonize's own loader could reach for the internet

from neonize.proto import Neonize_pb2 as ev  # noqa: E402
from neonize.proto.waCommon.WACommon_pb2 import MessageKey  # noqa: E402
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as wa  # noqa: E402

from .client import (ClientEvent, Connected, InboundMessage, LoggedOut, Outbound, PairSucceeded, Receipt,  # noqa: E402
                     StreamReplaced, TemporarilyDisconnected)
from .ids import message_id_for  # noqa: E402

RECEIPT_STATUS = {ev.Receipt.DELIVERED: "delivered", ev.Receipt.READ: "read", ev.Receipt.PLAYED: "read"}


def jid_text(jid: ev.JID) -> str:
    return f"{jid.User}@{jid.Server}" if jid.User else ""


def phone_of(jid: ev.JID) -> str | None:
    return jid.User or None


def event_from_library(event: Any, *, phone: str | None = None) -> ClientEvent | None:
    """A whatsmeow event as the worker's; None for the events the worker does not use."""
    if isinstance(event, ev.PairStatus):
        return PairSucceeded(event.ID.User) if event.Status == ev.PairStatus.SUCCESS else None
    if isinstance(event, ev.Connected):
        return Connected(phone)
    if isinstance(event, ev.LoggedOut):
        return LoggedOut(ev.ConnectFailureReason.Name(event.Reason).lower().replace("_", " ")
                         if event.HasField("Reason") else "logged out")
    if isinstance(event, ev.StreamReplaced):
        return StreamReplaced()
    if isinstance(event, ev.Disconnected):
        return TemporarilyDisconnected()
    if isinstance(event, ev.Receipt):
        status = RECEIPT_STATUS.get(event.Type)
        return Receipt(tuple(event.MessageIDs), status) if status else None
    if isinstance(event, ev.Message):
        return inbound_from_library(event)
    return None


# ---- inbound ----------------------------------------------------------------------------------------

def _media(kind: str) -> Callable[[Any], tuple[str, str, dict]]:
    def describe(part) -> tuple[str, str, dict]:
        media = {"mimetype": part.mimetype or None, "size": part.fileLength or None}
        if kind == "document":
            media["filename"] = part.fileName or None
        return kind, getattr(part, "caption", "") or "", {"media": media}
    return describe


INBOUND: dict[str, Callable[[Any], tuple[str, str, dict]]] = {
    "conversation": lambda text: ("text", text, {}),
    "extendedTextMessage": lambda part: ("text", part.text, {}),
    "imageMessage": _media("image"),
    "videoMessage": _media("video"),
    "audioMessage": _media("audio"),
    "documentMessage": _media("document"),
    "locationMessage": lambda part: ("location", "", {"location": {
        "latitude": part.degreesLatitude, "longitude": part.degreesLongitude,
        "name": part.name or None, "address": part.address or None}}),
    "contactMessage": lambda part: ("contact", "", {"contact": {"name": part.displayName, "vcard": part.vcard}}),
    "reactionMessage": lambda part: ("reaction", "", {"reaction": {
        "wa_message_id": part.key.ID, "emoji": part.text,
        "message_id": message_id_for(part.key.ID) if part.key.fromMe else None}}),
}


def _person(jid: ev.JID, alternative: ev.JID) -> str:
    """A `@lid` (WhatsApp's privacy id) is shown as the phone's chat id when whatsmeow knows it."""
    if jid.Server == "lid" and alternative.User:
        return jid_text(alternative)
    return jid_text(jid)


def inbound_from_library(event: ev.Message) -> InboundMessage | None:
    source = event.Info.MessageSource
    if source.IsFromMe:
        return None  # our own sends (or the phone's), echoed back: not inbound
    sender = _person(source.Sender, source.SenderAlt)
    chat = jid_text(source.Chat) if source.IsGroup else _person(source.Chat, source.SenderAlt)
    for field_name, describe in INBOUND.items():
        if event.Message.HasField(field_name):
            kind, text, parts = describe(getattr(event.Message, field_name))
            return InboundMessage(event.Info.ID, chat, sender, kind, text, parts)
    return InboundMessage(event.Info.ID, chat, sender, "unsupported", "", {})


# ---- outbound ---------------------------------------------------------------------------------------

def _text(message: Outbound) -> wa.Message:
    return wa.Message(extendedTextMessage=wa.ExtendedTextMessage(text=message.text))


def _location(message: Outbound) -> wa.Message:
    place = message.location
    return wa.Message(locationMessage=wa.LocationMessage(
        degreesLatitude=place["latitude"], degreesLongitude=place["longitude"],
        name=place.get("name") or "", address=place.get("address") or ""))


def _contact(message: Outbound) -> wa.Message:
    card = message.contact
    digits = card["phone"].lstrip("+")
    vcard = (f"BEGIN:VCARD\nVERSION:3.0\nFN:{card['name']}\n"
             f"TEL;type=CELL;waid={digits}:+{digits}\nEND:VCARD")
    return wa.Message(contactMessage=wa.ContactMessage(displayName=card["name"], vcard=vcard))


def reaction_for(message: Outbound, chat: str, *, ours: bool) -> wa.Message:
    """`ours`: the target is one of this session's sent messages (else one it received)."""
    key = MessageKey(remoteJID=chat, ID=message.target_wa_message_id, fromMe=ours)
    return wa.Message(reactionMessage=wa.ReactionMessage(key=key, text=message.emoji or "",
                                                         senderTimestampMS=int(time.time() * 1000)))


# Media types are built by the adapter (they are uploaded first): see `neonize_client.MEDIA_BUILDERS`.
OUTBOUND: dict[str, Callable[[Outbound], wa.Message]] = {"text": _text, "location": _location, "contact": _contact}


def quote(message: wa.Message, quoted_wa_message_id: str | None) -> wa.Message:
    """Make `message` a reply to the message with that id (its populated part carries the context)."""
    if not quoted_wa_message_id:
        return message
    for descriptor, part in message.ListFields():
        if descriptor.message_type is not None and "contextInfo" in descriptor.message_type.fields_by_name:
            part.contextInfo.stanzaID = quoted_wa_message_id
            break
    return message
