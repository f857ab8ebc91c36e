"""A WhatsApp message whatsmeow received (neonize's `Message` event) in the worker's terms: an
`InboundMessage` of the contract's type with its parts (media described, location, contact, reaction,
poll, the quoted message of a reply, the number behind an `@lid` sender), or the sender's edit or
deletion of an earlier one (`ReceivedEdited`, `ReceivedDeleted`). Each message type is one entry in
`INBOUND`. Poll votes arrive encrypted: the adapter has whatsmeow decrypt them, then `poll_vote_from`.
Ids are WhatsApp's as received; the adapter turns whatsmeow's ids of our own sends into derived ones."""

from __future__ import annotations

import re
from typing import Any, Callable

from .library import load_neonize

load_neonize()  # the checks run before neonize's own loader could reach for the internet

from neonize.proto import Neonize_pb2 as ev  # noqa: E402
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as wa  # noqa: E402

from .client import InboundMessage, ReceivedDeleted, ReceivedEdited  # noqa: E402
from .polls import chosen_options  # noqa: E402

# Envelopes WhatsApp puts around a message (disappearing, view once, a captioned document, an edit).
WRAPPERS = ("ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2", "viewOnceMessageV2Extension",
            "documentWithCaptionMessage", "editedMessage")
POLL_CREATIONS = ("pollCreationMessage", "pollCreationMessageV2", "pollCreationMessageV3",
                  "pollCreationMessageV5", "pollCreationMessageV6")


def jid_text(jid: ev.JID) -> str:
    return f"{jid.User}@{jid.Server}" if jid.User else ""


def _media(kind: str) -> Callable[[Any], tuple[str, str, dict]]:
    def describe(part) -> tuple[str, str, dict]:
        media = {"mimetype": part.mimetype or None, "size": part.fileLength,
                 "sha256": part.fileSHA256.hex() or None,  # the plain file's, as WhatsApp states it
                 "filename": (part.fileName or None) if kind == "document" else None,
                 "ptt": kind == "audio" and part.PTT}
        return kind, getattr(part, "caption", "") or "", {"media": media}
    return describe


def phone_in_vcard(vcard: str) -> str | None:
    """The card's WhatsApp number (`waid=`, as the apps write it), else its first telephone's digits."""
    found = re.search(r"waid=([0-9]{6,15})", vcard) or re.search(r"^TEL[^:\n]*:([+0-9 ()-]{6,32})$", vcard, re.M)
    digits = re.sub(r"[^0-9]", "", found.group(1)) if found else ""
    return digits or None


def _poll(part) -> tuple[str, str, dict]:
    return "poll", "", {"poll": {"name": part.name, "options": [option.optionName for option in part.options],
                                 "selectable_count": part.selectableOptionsCount}}


INBOUND: dict[str, Callable[[Any], tuple[str, str, dict]]] = {
    "conversation": lambda text: ("text", text, {}),
    "extendedTextMessage": lambda part: ("text", part.text, {}),
    "imageMessage": _media("image"),
    "videoMessage": _media("video"),
    "audioMessage": _media("audio"),
    "documentMessage": _media("document"),
    "stickerMessage": _media("sticker"),
    "locationMessage": lambda part: ("location", "", {"location": {
        "latitude": part.degreesLatitude, "longitude": part.degreesLongitude,
        "name": part.name or None, "address": part.address or None}}),
    "contactMessage": lambda part: ("contact", "", {"contact": {"name": part.displayName,
                                                                "phone": phone_in_vcard(part.vcard)}}),
    "reactionMessage": lambda part: ("reaction", "", {"reaction": {"wa_message_id": part.key.ID,
                                                                    "emoji": part.text}}),
    **{name: _poll for name in POLL_CREATIONS},
}


def unwrapped(message: wa.Message) -> wa.Message:
    for wrapper in WRAPPERS:
        if message.HasField(wrapper) and getattr(message, wrapper).HasField("message"):
            return unwrapped(getattr(message, wrapper).message)
    return message


def _person(jid: ev.JID, alternative: ev.JID) -> str:
    """A 1:1 chat with a `@lid` (WhatsApp's privacy id) is the phone's chat when whatsmeow knows the
    number: the same chat as the sends to that number, and a reply to it always reaches the person."""
    if jid.Server == "lid" and alternative.User:
        return jid_text(alternative)
    return jid_text(jid)


def _text_of(message: wa.Message) -> str:
    message = unwrapped(message)
    if message.conversation:
        return message.conversation
    for name in ("extendedTextMessage", "imageMessage", "videoMessage", "documentMessage"):
        if message.HasField(name):
            part = getattr(message, name)
            return part.text if name == "extendedTextMessage" else part.caption
    return ""


def _change(protocol: wa.ProtocolMessage) -> ReceivedEdited | ReceivedDeleted | None:
    if protocol.type == wa.ProtocolMessage.REVOKE:
        return ReceivedDeleted(protocol.key.ID)
    if protocol.type == wa.ProtocolMessage.MESSAGE_EDIT:
        text = _text_of(protocol.editedMessage)
        return ReceivedEdited(protocol.key.ID, text) if text else None
    return None  # key shares, history sync notices, ephemeral settings: no message of the chat


def _addressing(event: ev.Message) -> tuple[str, str, dict]:
    source = event.Info.MessageSource
    chat = jid_text(source.Chat) if source.IsGroup else _person(source.Chat, source.SenderAlt)
    extra = {}
    if source.Sender.Server == "lid" and source.SenderAlt.Server == "s.whatsapp.net" and source.SenderAlt.User:
        extra["sender_phone"] = source.SenderAlt.User
    return chat, jid_text(source.Sender), extra


def inbound_from_library(event: ev.Message) -> InboundMessage | ReceivedEdited | ReceivedDeleted | None:
    if event.Info.MessageSource.IsFromMe:
        return None  # our own sends (or the phone's), echoed back: not inbound
    message = unwrapped(event.Message)
    if message.HasField("protocolMessage"):
        return _change(message.protocolMessage)
    chat, sender, extra = _addressing(event)
    for field_name, describe in INBOUND.items():
        if message.HasField(field_name):
            part = getattr(message, field_name)
            kind, text, parts = describe(part)
            quoted = getattr(part, "contextInfo", None)
            if quoted is not None and quoted.stanzaID:
                parts["reply_to_wa_message_id"] = quoted.stanzaID
            return InboundMessage(event.Info.ID, chat, sender, kind, text, {**parts, **extra})
    return InboundMessage(event.Info.ID, chat, sender, "unsupported", "", {})


def is_poll_vote(event: ev.Message) -> bool:
    return not event.Info.MessageSource.IsFromMe and unwrapped(event.Message).HasField("pollUpdateMessage")


def poll_vote_from(event: ev.Message, vote: wa.PollVoteMessage, options: list[str]) -> InboundMessage:
    """A decrypted vote, its options named by the poll's `options` (a hash of none of them is dropped)."""
    chosen = chosen_options(list(vote.selectedOptions), options)
    chat, sender, extra = _addressing(event)
    target = unwrapped(event.Message).pollUpdateMessage.pollCreationMessageKey.ID
    return InboundMessage(event.Info.ID, chat, sender, "poll_vote", "",
                          {"poll_vote": {"wa_message_id": target, "options": chosen}, **extra})
