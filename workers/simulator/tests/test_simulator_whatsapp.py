import asyncio
from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio
import structlog.testing

from wagw_worker_simulator.whatsapp import NotHeld, SimulatedWhatsApp, Timing, WrongState

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
SLOW = Timing(qr_ttl=60, qr_refresh=60, qr_max_refreshes=5, status_delay=0)  # nothing happens by itself


@pytest_asyncio.fixture
async def whatsapp(uplink):
    app = SimulatedWhatsApp(uplink, SLOW, clock=lambda: T0)
    yield app
    await app.close()


async def waiting_for_scan(whatsapp: SimulatedWhatsApp, session_id: str = "s_1") -> None:
    await whatsapp.start_session(session_id, restore=False)


async def test_a_started_session_connects_then_shows_a_qr_to_scan(whatsapp, uplink):
    await waiting_for_scan(whatsapp)
    assert uplink.kinds() == ["status:CONNECTING", "qr", "status:QR_REQUIRED"]
    _, session_id, qr, expires_at = uplink.sent[1]
    assert (session_id, expires_at) == ("s_1", T0 + timedelta(seconds=60)) and qr.startswith("2@")
    assert whatsapp.held_sessions() == [{"session_id": "s_1", "status": "QR_REQUIRED"}]
    assert whatsapp.snapshot()[0]["qr"] == qr


async def test_scanning_connects_the_session_with_a_phone_number(whatsapp, uplink):
    await waiting_for_scan(whatsapp)
    session = await whatsapp.scan("s_1")
    assert uplink.sent[-1] == ("status", "s_1", "CONNECTED", None, session.phone)
    assert session.phone.startswith("628") and session.qr is None
    assert whatsapp.held_sessions() == [{"session_id": "s_1", "status": "CONNECTED"}]


async def test_only_a_held_session_waiting_for_its_qr_can_be_scanned(whatsapp):
    with pytest.raises(NotHeld):
        await whatsapp.scan("s_unknown")
    await waiting_for_scan(whatsapp)
    await whatsapp.scan("s_1")
    with pytest.raises(WrongState):
        await whatsapp.scan("s_1")


async def test_a_restored_session_connects_without_a_qr(whatsapp, uplink):
    await whatsapp.start_session("s_1", restore=True)
    assert uplink.kinds() == ["status:CONNECTING", "status:CONNECTED"]
    assert uplink.sent[-1][4] == whatsapp.sessions["s_1"].phone


async def test_a_repeated_start_reports_where_the_session_is_instead_of_starting_over(whatsapp, uplink):
    await waiting_for_scan(whatsapp)
    qr = whatsapp.sessions["s_1"].qr
    await whatsapp.start_session("s_1", restore=False)
    assert uplink.kinds()[3:] == ["qr", "status:QR_REQUIRED"]
    assert uplink.sent[3][2] == qr  # the same QR, still valid


async def test_an_unscanned_qr_is_refreshed_then_given_up(uplink):
    whatsapp = SimulatedWhatsApp(uplink, Timing(qr_refresh=0.01, qr_max_refreshes=2), clock=lambda: T0)
    await waiting_for_scan(whatsapp)
    await uplink.wait_for(3 + 2 * 2 + 1)
    assert uplink.kinds() == ["status:CONNECTING"] + ["qr", "status:QR_REQUIRED"] * 3 + ["status:DISCONNECTED"]
    assert uplink.sent[-1][3] == "qr timeout"
    assert len({item[2] for item in uplink.sent if item[0] == "qr"}) == 3  # a fresh QR each time
    assert whatsapp.held_sessions() == []


async def test_auto_scan_connects_by_itself(uplink):
    whatsapp = SimulatedWhatsApp(uplink, Timing(qr_refresh=60, auto_scan=0.01))
    await waiting_for_scan(whatsapp)
    await uplink.wait_for(4)
    assert uplink.kinds()[-1] == "status:CONNECTED"
    await whatsapp.close()


@pytest.mark.parametrize("logout, status", [(False, "DISCONNECTED"), (True, "LOGGED_OUT")])
async def test_stopping_reports_the_end_and_forgets_the_session(whatsapp, uplink, logout, status):
    await waiting_for_scan(whatsapp)
    await whatsapp.stop_session("s_1", logout=logout)
    assert uplink.kinds()[-1] == f"status:{status}"
    assert whatsapp.held_sessions() == [] and not whatsapp.snapshot()


async def test_stopping_an_unknown_session_still_confirms_it(whatsapp, uplink):
    await whatsapp.stop_session("s_gone", logout=False)
    assert uplink.kinds() == ["status:DISCONNECTED"]


async def test_a_message_through_a_connected_session_is_sent_delivered_and_read(whatsapp, uplink):
    await whatsapp.start_session("s_1", restore=True)
    await whatsapp.send_message("s_1", "m_1", "628123456789@s.whatsapp.net", "hello")
    assert uplink.kinds()[-1] == "message:sent"  # before the command is acknowledged
    await uplink.wait_for(5)
    assert uplink.kinds()[2:] == ["message:sent", "message:delivered", "message:read"]


async def test_a_send_command_that_comes_again_is_reported_again_but_not_sent_twice(whatsapp, uplink):
    """The platform routes at least once (a broker or network fault may redeliver a command)."""
    await whatsapp.start_session("s_1", restore=True)
    await whatsapp.send_message("s_1", "m_1", "628123456789@s.whatsapp.net", "hello")
    await uplink.wait_for(5)
    await whatsapp.send_message("s_1", "m_1", "628123456789@s.whatsapp.net", "hello")
    await asyncio.sleep(0.05)
    assert uplink.kinds()[2:] == ["message:sent", "message:delivered", "message:read", "message:sent"]


async def test_a_send_whose_report_failed_is_reported_again_by_the_retry_not_sent_again(whatsapp, uplink):
    """The broker may go away while "sent" is being reported (the report may even have arrived): the
    command's retry says "sent" again under the same WhatsApp id, and the phone's receipts still come."""
    await whatsapp.start_session("s_1", restore=True)
    uplink.reports_lost = 1
    with structlog.testing.capture_logs() as logs:
        with pytest.raises(ConnectionError):
            await whatsapp.send_message("s_1", "m_1", "628123456789@s.whatsapp.net", "hello")
        await whatsapp.send_message("s_1", "m_1", "628123456789@s.whatsapp.net", "hello")
    await uplink.wait_for(5)
    assert uplink.wa_message_ids[0] is not None and uplink.wa_message_ids[1] == uplink.wa_message_ids[0]
    assert sorted(uplink.kinds()[2:]) == ["message:delivered", "message:read", "message:sent"]
    assert [entry["event"] for entry in logs if entry["event"].startswith("simulator.message_")] == [
        "simulator.message_sent", "simulator.message_resend_dropped"]


@pytest.mark.parametrize("prepare", ["nothing", "waiting_for_scan"])
async def test_a_message_through_a_session_that_is_not_connected_fails(whatsapp, uplink, prepare):
    if prepare == "waiting_for_scan":
        await waiting_for_scan(whatsapp)
    await whatsapp.send_message("s_1", "m_1", "628123456789", "hello")
    assert uplink.sent[-1] == ("message", "s_1", "m_1", "failed", "session not connected")


async def test_an_inbound_message_is_reported_only_for_a_connected_session(whatsapp, uplink):
    with pytest.raises(NotHeld):
        await whatsapp.receive("s_1", text="hi")
    await waiting_for_scan(whatsapp)
    with pytest.raises(WrongState):
        await whatsapp.receive("s_1", text="hi")
    await whatsapp.scan("s_1")
    wa_message_id = await whatsapp.receive("s_1", text="hi", chat="628111@s.whatsapp.net")
    assert uplink.sent[-1] == ("inbound", "s_1", wa_message_id, "628111@s.whatsapp.net", "628111@s.whatsapp.net", "hi",
                              {"type": "text"})


async def test_a_dropped_connection_reports_disconnected_and_forgets_the_session(whatsapp, uplink):
    await whatsapp.start_session("s_1", restore=True)
    await whatsapp.drop("s_1")
    assert uplink.sent[-1][:4] == ("status", "s_1", "DISCONNECTED", "connection lost")
    assert whatsapp.held_sessions() == []
    with pytest.raises(NotHeld):
        await whatsapp.drop("s_1")


async def test_closing_cancels_pending_receipts_and_qr_refreshes(uplink):
    whatsapp = SimulatedWhatsApp(uplink, Timing(qr_refresh=0.01, status_delay=10))
    await waiting_for_scan(whatsapp, "s_qr")
    await whatsapp.start_session("s_ok", restore=True)
    await whatsapp.send_message("s_ok", "m_1", "628123456789", "hello")
    await whatsapp.close()
    count = len(uplink.sent)
    await asyncio.sleep(0.05)
    assert len(uplink.sent) == count


async def test_a_session_started_with_a_pairing_phone_shows_a_code_and_connects_when_it_is_entered(whatsapp, uplink):
    await whatsapp.start_session("s_1", restore=False, pairing_phone="+628123456789")
    assert uplink.kinds() == ["status:CONNECTING", "pairing_code"]
    _, _, code, expires_at = uplink.sent[-1]
    assert expires_at == T0 + timedelta(seconds=60) and len(code) == 9 and code[4] == "-"
    with pytest.raises(WrongState, match="not the session's pairing code"):
        await whatsapp.enter_code("s_1", "AAAA-AAAA")
    session = await whatsapp.enter_code("s_1", code.replace("-", "").lower())
    assert session.status == "CONNECTED" and session.pairing_code is None
    with pytest.raises(WrongState):
        await whatsapp.enter_code("s_1", code)


async def test_an_unentered_pairing_code_expires_into_a_disconnect(uplink):
    app = SimulatedWhatsApp(uplink, Timing(qr_ttl=0.05, qr_refresh=60, status_delay=0), clock=lambda: T0)
    await app.start_session("s_1", restore=False, pairing_phone="628123456789")
    await uplink.wait_for(3)
    assert uplink.sent[-1][:4] == ("status", "s_1", "DISCONNECTED", "pairing code expired")
    assert app.held_sessions() == []
    await app.close()


async def test_preloaded_sessions_are_held_connected_without_a_report(whatsapp, uplink):
    whatsapp.preload(["s_1", "s_2"])
    assert whatsapp.held_sessions() == [{"session_id": "s_1", "status": "CONNECTED"},
                                        {"session_id": "s_2", "status": "CONNECTED"}]
    assert uplink.sent == []


async def test_only_a_message_this_connection_sent_is_edited_or_revoked_and_each_is_confirmed(whatsapp, uplink):
    await whatsapp.start_session("s_1", restore=True)
    await whatsapp.send_message("s_1", "m_1", "628123456789@s.whatsapp.net", "helo")
    before = len(uplink.sent)
    await whatsapp.edit_message("s_1", "m_other", "628123456789@s.whatsapp.net", "x")  # never sent here
    await whatsapp.edit_message("s_1", "m_1", "628123456789@s.whatsapp.net", "hello")
    await whatsapp.revoke_message("s_1", "m_1", "628123456789@s.whatsapp.net")
    assert [item for item in uplink.sent[before:] if item[0] in ("edited", "deleted")] == [
        ("edited", "s_1", "m_1", "hello"), ("deleted", "s_1", "m_1")]


async def test_a_chat_marked_read_and_a_presence_show_on_the_simulated_phone(whatsapp):
    await whatsapp.start_session("s_1", restore=True)
    await whatsapp.mark_chat_read("s_1", "628123456789@s.whatsapp.net")
    await whatsapp.send_presence("s_1", "typing", "628123456789@s.whatsapp.net")
    await whatsapp.send_presence("s_1", "unavailable", None)
    await whatsapp.mark_chat_read("s_unknown", "628123456789@s.whatsapp.net")  # not held: nothing to do
    [view] = whatsapp.snapshot()
    assert view["chats_read"] == ["628123456789@s.whatsapp.net"]
    assert view["presence"] == {"628123456789@s.whatsapp.net": "typing", "*": "unavailable"}
