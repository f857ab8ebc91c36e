"""neonize's (whatsmeow's) protobuf types ↔ the worker's own terms, as plain functions: library events
to `client` events (inbound messages through `neonize_inbound`), outbound `Outbound` messages to
WhatsApp messages. Each message type is one entry in `neonize_inbound.INBOUND` and one in `OUTBOUND`
(or the adapter's builders, for what is uploaded): a type the contracts add is one mapping each way.
Only imported after `library.load_neonize()` passed."""

from __future__ import annotations

import time
from typing import Any, Callable

from .library import load_neonize

load_neonize()  # the checks run before neonize's own loader could reach for the internet

from neonize.proto import Neonize_pb2 as ev  # noqa: E402
from neonize.proto.waCommon.WACommon_pb2 import MessageKey  # noqa: E402
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as wa  # noqa: E402

from .client import (ClientEvent, Connected, LoggedOut, Outbound, PairSucceeded, Receipt,  # noqa: E402
                     StreamReplaced, TemporarilyDisconnected)
from .neonize_inbound import inbound_from_library, jid_text  # noqa: E402,F401 (the adapter's one door)

RECEIPT_STATUS = {ev.Receipt.DELIVERED: "delivered", ev.Receipt.READ: "read", ev.Receipt.PLAYED: "read"}


def phone_of(jid: ev.JID) -> str | None:
    return jid.User or None


def jid_of(chat: str) -> ev.JID:
    """A chat or contact as the platform names it (a number, `…@s.whatsapp.net`, `…@lid`, `…@g.us`). Every
    field is set: neonize's JID is proto2 with required fields, and one without them cannot be serialized
    into a call (the library raises EncodeError before whatsmeow is asked)."""
    user, _, server = chat.partition("@")
    return ev.JID(User=user.lstrip("+"), Server=server or "s.whatsapp.net", RawAgent=0, Device=0, Integrator=0,
                  IsEmpty=False)


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


# ---- outbound ---------------------------------------------------------------------------------------

def _text(message: Outbound) -> wa.Message:
    return wa.Message(extendedTextMessage=wa.ExtendedTextMessage(text=message.text))


def _location(message: Outbound) -> wa.Message:
    place = message.location_part
    return wa.Message(locationMessage=wa.LocationMessage(
        degreesLatitude=place["latitude"], degreesLongitude=place["longitude"],
        name=place.get("name") or "", address=place.get("address") or ""))


def _contact(message: Outbound) -> wa.Message:
    card = message.contact_part
    digits = card["phone"].lstrip("+")
    vcard = (f"BEGIN:VCARD\nVERSION:3.0\nFN:{card['name']}\n"
             f"TEL;type=CELL;waid={digits}:+{digits}\nEND:VCARD")
    return wa.Message(contactMessage=wa.ContactMessage(displayName=card["name"], vcard=vcard))


def reaction_for(message: Outbound, chat: str, *, ours: bool) -> wa.Message:
    """`ours`: the target is one of this session's sent messages (else one it received)."""
    key = MessageKey(remoteJID=chat, ID=message.target_wa_message_id, fromMe=ours)
    return wa.Message(reactionMessage=wa.ReactionMessage(key=key, text=message.emoji or "",
                                                         senderTimestampMS=int(time.time() * 1000)))


# Media types and polls are built by the adapter (uploaded first, or with a secret whatsmeow makes):
# see `neonize_outbound`.
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
