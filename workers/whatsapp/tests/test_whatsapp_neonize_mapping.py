"""The adapter's translation of whatsmeow's own protobuf types (built with neonize's classes, as the Go
library sends them) to the worker's events, and of outbound messages to WhatsApp messages."""

from __future__ import annotations

import pytest

from wagw_worker_whatsapp import neonize_mapping as mapping
from wagw_worker_whatsapp.client import (Connected, InboundMessage, LoggedOut, Outbound, PairSucceeded, Receipt,
                                         StreamReplaced, TemporarilyDisconnected)

pytestmark = pytest.mark.unit
ev, wa = mapping.ev, mapping.wa
PHONE = ev.JID(User="628123456789", Server="s.whatsapp.net")
GROUP = ev.JID(User="120363000000000001", Server="g.us")


def message_event(part: wa.Message, *, chat=PHONE, sender=PHONE, sender_alt=None, group=False, from_me=False):
    source = ev.MessageSource(Chat=chat, Sender=sender, IsFromMe=from_me, IsGroup=group)
    if sender_alt is not None:
        source.SenderAlt.CopyFrom(sender_alt)
    return ev.Message(Info=ev.MessageInfo(MessageSource=source, ID="3A5F00D1"), Message=part)


def test_session_events_map_to_the_workers_events():
    paired = ev.PairStatus(ID=PHONE, Status=ev.PairStatus.SUCCESS)
    assert mapping.event_from_library(paired) == PairSucceeded("628123456789")
    assert mapping.event_from_library(ev.PairStatus(Status=ev.PairStatus.ERROR, Error="bad")) is None
    assert mapping.event_from_library(ev.Connected(status=True), phone="628123456789") == Connected("628123456789")
    assert mapping.event_from_library(ev.LoggedOut(Reason=ev.MAIN_DEVICE_GONE)) == LoggedOut("main device gone")
    assert mapping.event_from_library(ev.LoggedOut()) == LoggedOut("logged out")
    assert mapping.event_from_library(ev.StreamReplaced()) == StreamReplaced()
    assert mapping.event_from_library(ev.Disconnected(status=True)) == TemporarilyDisconnected()
    assert mapping.event_from_library(ev.KeepAliveTimeout()) is None


@pytest.mark.parametrize("kind, status", [(ev.Receipt.DELIVERED, "delivered"), (ev.Receipt.READ, "read"),
                                          (ev.Receipt.PLAYED, "read")])
def test_receipts_name_their_message_ids_and_status(kind, status):
    receipt = ev.Receipt(MessageIDs=["WAGW45C48CCE2E2D7FBD", "WAGW0000000000000001"], Type=kind)
    assert mapping.event_from_library(receipt) == Receipt(("WAGW45C48CCE2E2D7FBD", "WAGW0000000000000001"), status)


def test_receipts_the_protocol_has_no_status_for_are_dropped():
    assert mapping.event_from_library(ev.Receipt(MessageIDs=["x"], Type=ev.Receipt.RETRY)) is None


def test_an_inbound_text_becomes_an_inbound_message():
    event = message_event(wa.Message(conversation="hello"))
    assert mapping.event_from_library(event) == InboundMessage(
        "3A5F00D1", "628123456789@s.whatsapp.net", "628123456789@s.whatsapp.net", "text", "hello", {})
    extended = message_event(wa.Message(extendedTextMessage=wa.ExtendedTextMessage(text="with link")))
    assert mapping.inbound_from_library(extended).text == "with link"


def test_a_group_message_keeps_the_group_as_chat_and_the_member_as_sender():
    inbound = mapping.inbound_from_library(message_event(wa.Message(conversation="hi"), chat=GROUP, group=True))
    assert (inbound.chat, inbound.sender) == ("120363000000000001@g.us", "628123456789@s.whatsapp.net")


def test_our_own_messages_echoed_back_are_not_inbound():
    assert mapping.inbound_from_library(message_event(wa.Message(conversation="x"), from_me=True)) is None


def test_outbound_text_location_and_contact_become_whatsapp_messages():
    assert mapping.OUTBOUND["text"](Outbound("text", "hello")).extendedTextMessage.text == "hello"
    place = mapping.OUTBOUND["location"](Outbound("location", location={"latitude": 1.5, "longitude": 2.5,
                                                                         "name": "Here"}))
    assert (place.locationMessage.degreesLatitude, place.locationMessage.name) == (1.5, "Here")
    card = mapping.OUTBOUND["contact"](Outbound("contact", contact={"name": "Ana", "phone": "+628111"}))
    assert card.contactMessage.displayName == "Ana" and "waid=628111:+628111" in card.contactMessage.vcard


def test_a_reaction_names_its_target_and_whether_it_was_ours():
    ours = mapping.reaction_for(Outbound("reaction", emoji="👍", target_wa_message_id="3EB0AA"),
                                "628123456789@s.whatsapp.net", ours=True)
    assert (ours.reactionMessage.key.ID, ours.reactionMessage.key.fromMe, ours.reactionMessage.text) == (
        "3EB0AA", True, "👍")
    assert ours.reactionMessage.key.remoteJID == "628123456789@s.whatsapp.net"
    theirs = mapping.reaction_for(Outbound("reaction", emoji="", target_wa_message_id="3A5F00D1"), "x@s.whatsapp.net",
                                  ours=False)
    assert theirs.reactionMessage.key.fromMe is False


def test_a_reply_quotes_the_earlier_message_in_the_populated_part():
    quoted = mapping.quote(mapping.OUTBOUND["text"](Outbound("text", "re")), "WAGW45C48CCE2E2D7FBD")
    assert quoted.extendedTextMessage.contextInfo.stanzaID == "WAGW45C48CCE2E2D7FBD"
    place = mapping.quote(mapping.OUTBOUND["location"](Outbound("location", location={"latitude": 0, "longitude": 0})),
                          "3A5F00D1")
    assert place.locationMessage.contextInfo.stanzaID == "3A5F00D1"
    assert not mapping.quote(mapping.OUTBOUND["text"](Outbound("text", "x")), None).extendedTextMessage.HasField(
        "contextInfo")
