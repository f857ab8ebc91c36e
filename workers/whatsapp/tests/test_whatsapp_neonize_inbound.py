"""The adapter's reading of received WhatsApp messages, built with neonize's own protobuf classes as
whatsmeow hands them over: each type becomes what `worker.message.inbound` accepts (checked against
the contract itself), and a sender's edit or deletion becomes the change of the message it names."""

from __future__ import annotations

import hashlib

import pytest
from wagw_common.contracts.workers import WorkerInboundMessage

from wagw_worker_whatsapp import neonize_inbound as inbound
from wagw_worker_whatsapp.client import InboundMessage, ReceivedDeleted, ReceivedEdited

from neonize.proto.waCommon.WACommon_pb2 import MessageKey  # noqa: I001 (after the library's checks above)

pytestmark = pytest.mark.unit
ev, wa = inbound.ev, inbound.wa

PHONE = ev.JID(User="628123456789", Server="s.whatsapp.net")
LID = ev.JID(User="190000000000001", Server="lid")
SHA = hashlib.sha256(b"the file").digest()
QUOTED = wa.ContextInfo(stanzaID="3EB0A1B2C3D4E5F60718")


def received(part: wa.Message, *, chat=PHONE, sender=PHONE, sender_alt=None, from_me=False) -> ev.Message:
    source = ev.MessageSource(Chat=chat, Sender=sender, IsFromMe=from_me)
    if sender_alt is not None:
        source.SenderAlt.CopyFrom(sender_alt)
    return ev.Message(Info=ev.MessageInfo(MessageSource=source, ID="3A5F00D1"), Message=part)


def reported(message: InboundMessage) -> dict:
    """As the worker publishes it: the contract refuses what is not a valid report."""
    return WorkerInboundMessage().load({
        "worker_id": "wa-1", "session_id": "s_1", "wa_message_id": message.wa_message_id, "chat": message.chat,
        "sender": message.sender, "type": message.type, "text": message.text or None, **message.parts,
        "at": "2026-01-01T12:00:00Z"})


MEDIA = [
    (wa.Message(imageMessage=wa.ImageMessage(caption="look", mimetype="image/jpeg", fileLength=2048, fileSHA256=SHA,
                                             contextInfo=QUOTED)), "image", "look", None, False),
    (wa.Message(videoMessage=wa.VideoMessage(mimetype="video/mp4", fileLength=9, fileSHA256=SHA)), "video", "", None,
     False),
    (wa.Message(audioMessage=wa.AudioMessage(mimetype="audio/ogg; codecs=opus", fileLength=5120, fileSHA256=SHA,
                                             PTT=True)), "audio", "", None, True),
    (wa.Message(audioMessage=wa.AudioMessage(mimetype="audio/mpeg", fileLength=5, fileSHA256=SHA)), "audio", "", None,
     False),
    (wa.Message(documentMessage=wa.DocumentMessage(fileName="a.pdf", caption="invoice", mimetype="application/pdf",
                                                   fileLength=77, fileSHA256=SHA)), "document", "invoice", "a.pdf",
     False),
    (wa.Message(stickerMessage=wa.StickerMessage(mimetype="image/webp", fileLength=300, fileSHA256=SHA)), "sticker",
     "", None, False),
]


@pytest.mark.parametrize("part, kind, caption, filename, ptt", MEDIA)
def test_received_media_is_described_with_its_sha256_caption_file_name_and_voice_note(part, kind, caption, filename,
                                                                                        ptt):
    message = inbound.inbound_from_library(received(part))
    data = reported(message)
    assert (data["type"], data["text"] or "") == (kind, caption)
    assert data["media"]["sha256"] == SHA.hex() and data["media"]["size"] > 0
    assert (data["media"]["filename"], data["media"]["ptt"]) == (filename, ptt)


def test_a_reply_names_the_quoted_message():
    text = wa.Message(extendedTextMessage=wa.ExtendedTextMessage(text="yes", contextInfo=QUOTED))
    assert reported(inbound.inbound_from_library(received(text)))["reply_to_wa_message_id"] == QUOTED.stanzaID
    image = inbound.inbound_from_library(received(MEDIA[0][0]))
    assert image.parts["reply_to_wa_message_id"] == QUOTED.stanzaID
    assert "reply_to_wa_message_id" not in inbound.inbound_from_library(received(wa.Message(conversation="hi"))).parts


def test_location_contact_reaction_and_poll_are_described():
    place = received(wa.Message(locationMessage=wa.LocationMessage(degreesLatitude=-6.2, degreesLongitude=106.8,
                                                                  name="Monas")))
    assert reported(inbound.inbound_from_library(place))["location"]["name"] == "Monas"
    vcard = "BEGIN:VCARD\nVERSION:3.0\nFN:Ana\nTEL;type=CELL;waid=628111222333:+62 811-1222-333\nEND:VCARD"
    card = received(wa.Message(contactMessage=wa.ContactMessage(displayName="Ana", vcard=vcard)))
    assert reported(inbound.inbound_from_library(card))["contact"] == {"name": "Ana", "phone": "628111222333"}
    reaction = received(wa.Message(reactionMessage=wa.ReactionMessage(key=MessageKey(ID="3EB0AA"), text="👍")))
    assert reported(inbound.inbound_from_library(reaction))["reaction"] == {"wa_message_id": "3EB0AA", "emoji": "👍"}
    options = [wa.PollCreationMessage.Option(optionName=name) for name in ("Tea", "Coffee")]
    for field_name in ("pollCreationMessage", "pollCreationMessageV3"):
        poll = received(wa.Message(**{field_name: wa.PollCreationMessage(name="Drink?", options=options,
                                                                          selectableOptionsCount=1)}))
        assert reported(inbound.inbound_from_library(poll))["poll"] == {
            "name": "Drink?", "options": ["Tea", "Coffee"], "selectable_count": 1}


def test_a_card_without_a_whatsapp_number_takes_its_first_telephone():
    assert inbound.phone_in_vcard("BEGIN:VCARD\nFN:Bo\nTEL;TYPE=CELL:+1 (202) 555-0100\nEND:VCARD") == "12025550100"
    assert inbound.phone_in_vcard("BEGIN:VCARD\nFN:Bo\nEND:VCARD") is None


def test_a_decrypted_poll_vote_names_the_chosen_options():
    update = wa.PollUpdateMessage(pollCreationMessageKey=MessageKey(ID="3EB0P0LL"))
    event = received(wa.Message(pollUpdateMessage=update))
    assert inbound.is_poll_vote(event)
    vote = wa.PollVoteMessage(selectedOptions=[hashlib.sha256(b"Coffee").digest()])
    data = reported(inbound.poll_vote_from(event, vote, ["Tea", "Coffee"]))
    assert (data["type"], data["poll_vote"]) == ("poll_vote", {"wa_message_id": "3EB0P0LL", "options": ["Coffee"]})
    withdrawn = inbound.poll_vote_from(event, wa.PollVoteMessage(), ["Tea", "Coffee"])
    assert withdrawn.parts["poll_vote"]["options"] == []


def test_a_lid_sender_keeps_its_id_with_its_number_and_the_chat_is_the_phones():
    message = inbound.inbound_from_library(received(wa.Message(conversation="hi"), chat=LID, sender=LID,
                                                    sender_alt=PHONE))
    data = reported(message)
    assert (data["chat"], data["sender"], data["sender_phone"]) == (
        "628123456789@s.whatsapp.net", "190000000000001@lid", "628123456789")
    unknown = inbound.inbound_from_library(received(wa.Message(conversation="hi"), chat=LID, sender=LID))
    assert (unknown.chat, unknown.sender, unknown.parts) == ("190000000000001@lid", "190000000000001@lid", {})


def test_edits_and_deletions_of_received_messages_name_the_message_changed():
    key = MessageKey(ID="3EB0ED17", remoteJID="628123456789@s.whatsapp.net")
    edit = wa.ProtocolMessage(key=key, type=wa.ProtocolMessage.MESSAGE_EDIT,
                              editedMessage=wa.Message(conversation="fixed typo"))
    assert inbound.inbound_from_library(received(wa.Message(protocolMessage=edit))) == ReceivedEdited(
        "3EB0ED17", "fixed typo")
    # As a phone sends it: the edit inside the `editedMessage` envelope, a caption edited.
    caption = wa.ProtocolMessage(key=key, type=wa.ProtocolMessage.MESSAGE_EDIT,
                                 editedMessage=wa.Message(imageMessage=wa.ImageMessage(caption="new caption")))
    wrapped = wa.Message(editedMessage=wa.FutureProofMessage(message=wa.Message(protocolMessage=caption)))
    assert inbound.inbound_from_library(received(wrapped)) == ReceivedEdited("3EB0ED17", "new caption")
    revoke = wa.ProtocolMessage(key=key, type=wa.ProtocolMessage.REVOKE)
    assert inbound.inbound_from_library(received(wa.Message(protocolMessage=revoke))) == ReceivedDeleted("3EB0ED17")


def test_protocol_messages_that_change_no_message_and_our_own_echoes_are_not_reported():
    sync = wa.ProtocolMessage(type=wa.ProtocolMessage.HISTORY_SYNC_NOTIFICATION)
    assert inbound.inbound_from_library(received(wa.Message(protocolMessage=sync))) is None
    revoke = wa.ProtocolMessage(key=MessageKey(ID="x"), type=wa.ProtocolMessage.REVOKE)
    assert inbound.inbound_from_library(received(wa.Message(protocolMessage=revoke), from_me=True)) is None


def test_a_disappearing_message_is_read_inside_its_envelope():
    wrapped = wa.Message(ephemeralMessage=wa.FutureProofMessage(message=wa.Message(conversation="soon gone")))
    assert inbound.inbound_from_library(received(wrapped)).text == "soon gone"


def test_a_type_without_a_mapping_is_named_unsupported():
    order = received(wa.Message(orderMessage=wa.OrderMessage(orderID="1")))
    assert inbound.inbound_from_library(order).type == "unsupported"
