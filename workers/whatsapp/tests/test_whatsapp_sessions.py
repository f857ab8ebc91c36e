"""The WhatsApp worker's sessions against the fake client: what each command and each WhatsApp event
becomes on the worker protocol."""

from __future__ import annotations

import asyncio

import pytest

from wagw_worker_whatsapp.client import ConnectionFailed
from wagw_worker_whatsapp.fake import FAKE_PAIRING_CODE, FakeWhatsApp, fake_phone
from wagw_worker_whatsapp.ids import wa_message_id_for
from wagw_worker_whatsapp.sessions import WhatsAppSessions

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]
TO = "628123456789@s.whatsapp.net"


@pytest.fixture
def world(tmp_path) -> FakeWhatsApp:
    return FakeWhatsApp(store=tmp_path / "credentials", receipt_delay=0)


@pytest.fixture
def sessions(uplink, world) -> WhatsAppSessions:
    return WhatsAppSessions(uplink, world)


async def linked(sessions, world, uplink, session_id="s_1") -> None:
    await sessions.start_session(session_id, restore=False)
    await world.scan(session_id)
    uplink.sent.clear()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_new_session_shows_a_qr_and_connects_with_the_phone_once_scanned(sessions, world, uplink):
    await sessions.start_session("s_1", restore=False)
    assert uplink.kinds() == ["status:CONNECTING", "qr", "status:QR_REQUIRED"]
    assert uplink.sent[1][2] == "fake-qr:s_1"
    await world.scan("s_1")
    assert uplink.kinds()[-2:] == ["status:CONNECTING", "status:CONNECTED"]
    assert uplink.sent[-1][4] == fake_phone("s_1")
    assert sessions.held_sessions() == [{"session_id": "s_1", "status": "CONNECTED"}]


async def test_a_session_started_with_a_phone_shows_a_pairing_code(sessions, world, uplink):
    await sessions.start_session("s_1", restore=False, pairing_phone="+628123456789")
    # whatsmeow shows QR codes meanwhile: the platform hears only of the pairing code.
    assert uplink.kinds() == ["status:CONNECTING", "pairing_code"]
    assert ("pairing_code", "s_1", FAKE_PAIRING_CODE) == uplink.sent[-1][:3]
    await world.enter_code("s_1", FAKE_PAIRING_CODE)
    assert uplink.kinds()[-1] == "status:CONNECTED"


async def test_each_message_type_of_the_contracts_goes_to_whatsapp_with_the_derived_id(sessions, world, uplink):
    await linked(sessions, world, uplink)
    world.auto_receipts = False
    media = {"url": "https://example.com/a.pdf", "filename": "a.pdf", "mimetype": "application/pdf"}
    commands = {
        "m_0000000000000001": {"type": "text", "text": "hello"},
        "m_0000000000000002": {"type": "image", "text": "look", "media": {"url": "https://example.com/a.jpg"}},
        "m_0000000000000003": {"type": "video", "text": "", "media": {"url": "https://example.com/a.mp4"}},
        "m_0000000000000004": {"type": "audio", "text": "", "media": {"url": "https://example.com/a.ogg"}},
        "m_0000000000000005": {"type": "document", "text": "the contract", "media": media},
        "m_0000000000000006": {"type": "location", "text": "", "location": {"latitude": -6.2, "longitude": 106.8}},
        "m_0000000000000007": {"type": "contact", "text": "", "contact": {"name": "Ana", "phone": "+628111"}},
        "m_0000000000000008": {"type": "reaction", "text": "",
                               "reaction": {"message_id": "m_0000000000000001", "emoji": "👍"}},
        "m_0000000000000009": {"type": "text", "text": "re", "reply_to": "m_0000000000000001"},
    }
    for message_id, content in commands.items():
        text = content.pop("text")
        await sessions.send_message("s_1", message_id, TO, text, **content)
    assert [s.wa_message_id for s in world.sent] == [wa_message_id_for(m) for m in commands]
    by_type = {s.message.type: s.message for s in world.sent}
    assert by_type["image"].media == {"url": "https://example.com/a.jpg"} and by_type["image"].text == "look"
    assert by_type["document"].media == media
    assert by_type["location"].location == {"latitude": -6.2, "longitude": 106.8}
    assert by_type["contact"].contact == {"name": "Ana", "phone": "+628111"}
    assert by_type["reaction"].emoji == "👍"
    assert by_type["reaction"].target_wa_message_id == wa_message_id_for("m_0000000000000001")
    assert world.sent[-1].message.quoted_wa_message_id == wa_message_id_for("m_0000000000000001")
    assert uplink.kinds() == ["message:sent"] * len(commands)


async def test_a_reaction_to_an_inbound_message_names_the_whatsapp_id_the_platform_knows(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await sessions.send_message("s_1", "m_0000000000000002", TO, "", type="reaction",
                                reaction={"message_id": "m_in_abc", "emoji": "❤"},
                                quoted_wa_message_id="3A0000000000000000FA")
    assert world.sent[0].message.target_wa_message_id == "3A0000000000000000FA"


async def test_receipts_become_delivered_then_read_for_the_platforms_message(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await sessions.send_message("s_1", "m_00000000000000aa", TO, "hi", type="text")
    await settle()
    assert uplink.kinds() == ["message:sent", "message:delivered", "message:read"]
    assert {item[2] for item in uplink.sent} == {"m_00000000000000aa"}


async def test_a_send_repeated_on_the_same_worker_is_not_sent_twice(sessions, world, uplink):
    await linked(sessions, world, uplink)
    world.auto_receipts = False
    for _ in range(2):
        await sessions.send_message("s_1", "m_00000000000000ab", TO, "hi", type="text")
    assert len(world.sent) == 1 and uplink.kinds() == ["message:sent", "message:sent"]


async def test_a_send_whose_report_failed_is_reported_again_by_the_retry_not_sent_again(sessions, world, uplink):
    await linked(sessions, world, uplink)
    world.auto_receipts = False
    uplink.reports_lost = 1  # the broker went away during the report
    with pytest.raises(ConnectionError):
        await sessions.send_message("s_1", "m_00000000000000ae", TO, "hi", type="text")
    await sessions.send_message("s_1", "m_00000000000000ae", TO, "hi", type="text")  # the command's retry
    assert len(world.sent) == 1 and uplink.kinds() == ["message:sent"]


async def test_a_send_fails_with_a_reason_when_not_connected_or_refused(sessions, world, uplink):
    await sessions.send_message("s_9", "m_00000000000000ac", TO, "hi", type="text")
    assert uplink.sent[-1][3:] == ("failed", "session not connected")
    await linked(sessions, world, uplink)
    world.refuse = "recipient is not on WhatsApp"
    await sessions.send_message("s_1", "m_00000000000000ad", TO, "hi", type="text")
    assert uplink.sent[-1][3:] == ("failed", "recipient is not on WhatsApp")


async def test_an_inbound_text_is_reported_and_a_type_the_contracts_lack_is_not(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await world.write("s_1", "hi there", chat=TO, wa_message_id="3A01")
    assert uplink.sent == [("inbound", "s_1", "3A01", TO, TO, "hi there", {"type": "text"})]
    await world.write("s_1", "", chat=TO, wa_message_id="3A02", type="order")
    assert len(uplink.sent) == 1


async def test_logout_unlinks_the_phone_and_forgets_the_credentials(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await sessions.stop_session("s_1", logout=True)
    assert uplink.sent[-1][2:4] == ("LOGGED_OUT", "logged out")
    assert not world.credentials("s_1").exists() and sessions.held_sessions() == []


async def test_a_stop_keeps_the_credentials_and_a_restart_restores_without_a_qr(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await sessions.stop_session("s_1", logout=False)
    assert uplink.sent[-1][2:4] == ("DISCONNECTED", "stopped")
    restarted = WhatsAppSessions(uplink, world)
    uplink.sent.clear()
    await restarted.start_session("s_1", restore=True)
    assert uplink.kinds() == ["status:CONNECTING", "status:CONNECTED"]


async def test_a_restore_without_stored_credentials_reports_logged_out(sessions, uplink):
    await sessions.start_session("s_2", restore=True)
    assert uplink.sent == [("status", "s_2", "LOGGED_OUT", "no stored credentials to restore", None)]
    assert sessions.held_sessions() == []


async def test_another_worker_on_the_same_store_takes_over_and_sends_the_same_whatsapp_id(tmp_path, uplink):
    first_world = FakeWhatsApp(store=tmp_path / "shared", auto_receipts=False)
    first = WhatsAppSessions(uplink, first_world)
    await first.start_session("s_1", restore=False)
    await first_world.scan("s_1")
    await first.send_message("s_1", "m_00000000000000ae", TO, "hi", type="text")

    second_world = FakeWhatsApp(store=tmp_path / "shared", auto_receipts=False)  # another process, same store
    second = WhatsAppSessions(uplink, second_world)
    await second.start_session("s_1", restore=True)
    await second.send_message("s_1", "m_00000000000000ae", TO, "hi", type="text")
    assert first_world.sent[0].wa_message_id == second_world.sent[0].wa_message_id


async def test_the_phone_unlinking_the_device_reports_logged_out(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await world.unlink("s_1")
    assert uplink.sent[-1][2:4] == ("LOGGED_OUT", "unlinked from the phone")
    assert sessions.held_sessions() == []


async def test_a_replaced_stream_gives_the_session_up_and_a_dropped_one_reconnects(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await world.drop("s_1")
    assert uplink.kinds() == ["status:RECONNECTING", "status:CONNECTED"]
    await world.replace_stream("s_1")
    assert uplink.sent[-1][2] == "DISCONNECTED" and "stream replaced" in uplink.sent[-1][3]
    assert sessions.held_sessions() == []


async def test_a_repeated_start_says_where_the_session_is(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await sessions.start_session("s_1", restore=False)
    assert uplink.sent == [("status", "s_1", "CONNECTED", None, fake_phone("s_1"))]


async def test_a_connection_that_cannot_be_made_reports_the_session_down_with_the_reason(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await world.clients["s_1"].emit(ConnectionFailed("failed to dial whatsapp web websocket"))
    assert uplink.sent == [("status", "s_1", "DISCONNECTED", "failed to dial whatsapp web websocket", None)]
    assert sessions.held_sessions() == []


async def test_a_refused_pairing_is_reported_with_its_reason_and_not_retried(sessions, world, uplink):
    world.refuse_pairing = "not a WhatsApp number"
    await sessions.start_session("s_1", restore=False, pairing_phone="+628123456789")
    assert uplink.sent[-1] == ("status", "s_1", "DISCONNECTED", "pairing refused: not a WhatsApp number", None)
    assert sessions.held_sessions() == []


async def test_a_start_that_cannot_connect_fails_for_a_retry_and_holds_nothing(sessions, world, uplink):
    world.store_down = True
    with pytest.raises(ConnectionError):
        await sessions.start_session("s_1", restore=False)
    assert sessions.held_sessions() == []
    world.store_down = False
    await sessions.start_session("s_1", restore=False)  # the command's retry starts afresh
    assert uplink.kinds()[-2:] == ["qr", "status:QR_REQUIRED"]


async def test_voice_notes_stickers_and_polls_go_to_whatsapp_as_sent(sessions, world, uplink):
    await linked(sessions, world, uplink)
    world.auto_receipts = False
    poll = {"name": "Drink?", "options": ["Tea", "Coffee"], "selectable_count": 1}
    await sessions.send_message("s_1", "m_00000000000000c1", TO, "", type="audio",
                                media={"url": "https://example.com/v.ogg", "ptt": True})
    await sessions.send_message("s_1", "m_00000000000000c2", TO, "", type="sticker",
                                media={"url": "https://example.com/s.webp"})
    await sessions.send_message("s_1", "m_00000000000000c3", TO, "", type="poll", poll=poll)
    assert [s.message.type for s in world.sent] == ["audio", "sticker", "poll"]
    assert world.sent[0].message.media["ptt"] is True and world.sent[2].message.poll == poll
    assert uplink.kinds() == ["message:sent"] * 3


async def test_an_edit_and_a_revoke_of_a_sent_message_are_confirmed_once_whatsapp_took_them(sessions, world, uplink):
    await linked(sessions, world, uplink)
    world.auto_receipts = False
    await sessions.send_message("s_1", "m_00000000000000d1", TO, "helo", type="text")
    await sessions.edit_message("s_1", "m_00000000000000d1", TO, "hello")
    await sessions.revoke_message("s_1", "m_00000000000000d1", TO)
    derived = wa_message_id_for("m_00000000000000d1")
    assert world.shown["s_1"] == [("edited", derived, "hello"), ("revoked", derived)]
    assert uplink.sent[1:] == [("edited", "s_1", "m_00000000000000d1", "hello"), ("deleted", "s_1",
                                                                                  "m_00000000000000d1")]


async def test_a_change_whatsapp_refuses_or_of_a_session_not_connected_is_not_confirmed(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await sessions.edit_message("s_1", "m_00000000000000d2", TO, "never sent")  # WhatsApp refuses it
    await sessions.revoke_message("s_9", "m_00000000000000d2", TO)
    await sessions.mark_chat_read("s_9", TO)
    assert uplink.sent == [] and "s_1" not in world.shown


async def test_a_chat_read_and_presences_reach_whatsapp(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await sessions.mark_chat_read("s_1", TO)
    await sessions.send_presence("s_1", "typing", TO)
    await sessions.send_presence("s_1", "available", None)
    assert world.shown["s_1"] == [("read", TO), ("presence", "typing", TO), ("presence", "available", None)]


async def test_received_media_replies_polls_and_votes_are_reported_with_their_parts(sessions, world, uplink):
    await linked(sessions, world, uplink)
    media = {"mimetype": "audio/ogg; codecs=opus", "size": 5120, "sha256": "ab" * 32, "filename": None, "ptt": True}
    await world.write("s_1", None, chat=TO, wa_message_id="3A03", type="audio", media=media,
                      reply_to_wa_message_id="WAGW00000000000000D1")
    vote = {"wa_message_id": "WAGW00000000000000C3", "options": ["Tea"]}
    await world.write("s_1", None, chat=TO, wa_message_id="3A04", type="poll_vote", poll_vote=vote)
    assert uplink.sent == [
        ("inbound", "s_1", "3A03", TO, TO, None,
         {"type": "audio", "media": media, "reply_to_wa_message_id": "WAGW00000000000000D1"}),
        ("inbound", "s_1", "3A04", TO, TO, None, {"type": "poll_vote", "poll_vote": vote})]


async def test_a_contacts_edit_and_deletion_of_a_received_message_are_reported(sessions, world, uplink):
    await linked(sessions, world, uplink)
    await world.edit_written("s_1", "3A01", "fixed")
    await world.delete_written("s_1", "3A01")
    assert uplink.sent == [("edited", "s_1", "3A01", "fixed"), ("deleted", "s_1", "3A01")]
