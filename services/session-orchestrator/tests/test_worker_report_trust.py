"""A worker speaks only for the sessions placed on it: every report type, sent by a worker that does
not hold the session, is refused, counted and turns into no event. Reports go through the router's
worker guard as each worker's own broker user: one whose body names another worker is refused there
(`not_the_sender`); one that names itself is heard, and refused for what it is about."""

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY

from wagw_common import topology
from wagw_common.contracts.workers import broker_user_for, source_for
from wagw_session_orchestrator.messages_store import inbound_message_id

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

VICTIM, MALLORY = "worker-1", "worker-mallory"
NOW = datetime.now(timezone.utc)


def refused(message_type: str, reason: str) -> float:
    return REGISTRY.get_sample_value("wagw_worker_reports_refused_total",
                                     {"type": message_type, "reason": reason}) or 0.0


@pytest.fixture
def victim_session(platform):
    """A tenant's session, connecting on the victim's worker; `connected=True` has it report CONNECTED."""
    async def make(connected=True):
        sid = await platform.create(tenant_id="u_victim")
        await platform.ask("session.connect", tenant_id="u_victim", session_id=sid)
        if connected:
            await platform.status(sid, "CONNECTED", worker_id=VICTIM, phone="628123456789")
        return sid
    return make


def _inbound(sid, wa_message_id, text="hi"):
    return dict(session_id=sid, wa_message_id=wa_message_id, chat="62811@s.whatsapp.net",
                sender="62811@s.whatsapp.net", type="text", text=text, at=NOW)


async def test_a_report_whose_body_names_another_worker_is_refused_before_any_handler(platform, victim_session):
    sid = await victim_session()
    mallory = platform.broker.speaking_as(source=source_for(VICTIM), user_id=broker_user_for(MALLORY))
    counted = refused("worker.session.status", "not_the_sender")
    envelope = mallory.envelope("worker.session.status", {"worker_id": VICTIM, "session_id": sid,
                                                          "status": "LOGGED_OUT", "reason": "x", "phone": None})
    events_before = len(platform.events())
    await mallory.publish(envelope, exchange=topology.WORKER_UPLINK, routing_key=envelope.type)
    await platform.broker.settled()
    assert (await platform.session(sid))["status"] == "CONNECTED" and len(platform.events()) == events_before
    assert refused("worker.session.status", "not_the_sender") == counted + 1


async def test_a_status_about_a_session_held_by_another_worker_is_refused(platform, victim_session):
    sid = await victim_session()
    events_before, counted = len(platform.events()), refused("worker.session.status", "session_not_held")
    await platform.status(sid, "LOGGED_OUT", worker_id=MALLORY, reason="x")
    assert (await platform.session(sid))["status"] == "CONNECTED"
    assert len(platform.events()) == events_before
    assert refused("worker.session.status", "session_not_held") == counted + 1
    # The real worker is still the session's worker: its next report is applied.
    await platform.status(sid, "DISCONNECTED", worker_id=VICTIM, reason="closed")
    assert (await platform.session(sid))["status"] == "DISCONNECTED"
    assert platform.broker.to_worker(MALLORY) == []  # a resting state reported by a stranger is not even answered


async def test_a_qr_or_pairing_code_for_a_session_held_by_another_worker_is_refused(platform, victim_session):
    sid = await victim_session(connected=False)
    events_before = len(platform.events())
    counted = [refused(t, "session_not_held") for t in ("worker.session.qr", "worker.session.pairing_code")]
    later = NOW + timedelta(minutes=1)
    await platform.report(MALLORY, "worker.session.qr", session_id=sid, qr="2@evil", expires_at=later)
    await platform.report(MALLORY, "worker.session.pairing_code", session_id=sid, code="EVIL-CODE", expires_at=later)
    stored = await platform.session(sid)
    assert (stored.get("qr"), stored.get("pairing_code"), stored["status"]) == (None, None, "CONNECTING")
    assert len(platform.events()) == events_before
    assert [refused(t, "session_not_held") for t in ("worker.session.qr", "worker.session.pairing_code")] == \
        [c + 1 for c in counted]


async def test_an_inbound_message_for_a_session_held_by_another_worker_is_not_stored(platform, victim_session):
    sid = await victim_session()
    events_before, counted = len(platform.events()), refused("worker.message.inbound", "session_not_held")
    inbound = _inbound(sid, "3EB0FAKE", text="pay here")
    await platform.report(MALLORY, "worker.message.inbound", **inbound)
    assert await platform.message(inbound_message_id(sid, "3EB0FAKE")) is None
    assert len(platform.events()) == events_before
    assert refused("worker.message.inbound", "session_not_held") == counted + 1
    await platform.report(VICTIM, "worker.message.inbound", **inbound)  # the session's own worker: stored
    assert await platform.message(inbound_message_id(sid, "3EB0FAKE")) is not None


@pytest.mark.parametrize("change", ["edited", "deleted"])
async def test_an_edit_or_deletion_for_a_session_held_by_another_worker_changes_nothing(platform, victim_session,
                                                                                        change):
    sid = await victim_session()
    await platform.report(VICTIM, "worker.message.inbound", **_inbound(sid, "3EB0REAL", text="see you at 5"))
    stored = inbound_message_id(sid, "3EB0REAL")
    body = {"text": "see you at 9"} if change == "edited" else {}
    forged = dict(session_id=sid, wa_message_id="3EB0REAL", message_id=None, at=NOW + timedelta(seconds=1), **body)
    events_before, counted = len(platform.events()), refused(f"worker.message.{change}", "session_not_held")
    await platform.report(MALLORY, f"worker.message.{change}", **forged)
    message = await platform.message(stored)
    assert message["text"] == "see you at 5" and message.get("deleted_at") is None
    assert len(platform.events()) == events_before
    assert refused(f"worker.message.{change}", "session_not_held") == counted + 1
    await platform.report(VICTIM, f"worker.message.{change}", **forged)  # the session's own worker: applied
    assert len(platform.events()) == events_before + 1


@pytest.mark.parametrize("held", [False, True], ids=["handed-to-its-worker", "held-for-no-worker"])
async def test_a_status_or_bounce_of_a_send_handed_to_another_worker_is_refused(platform, victim_session, held):
    sid = await victim_session()
    if held:
        await platform.change_session(sid, status="RECONNECTING", worker_id=None, moved_from=VICTIM)
    await platform.send(sid, "m_victim", tenant_id="u_victim")
    before = await platform.message("m_victim")
    assert before["routed_to"] == (None if held else VICTIM)
    events_before, sends_before = len(platform.events()), len(platform.broker.published)
    counted = [refused(t, "message_not_handed_to_it") for t in ("worker.message.status", "worker.message.bounced")]
    for step in ("failed", "read"):
        await platform.report(MALLORY, "worker.message.status", session_id=sid, message_id="m_victim", status=step,
                              reason="x", at=NOW)
    await platform.report(MALLORY, "worker.message.bounced", session_id=sid, message_id="m_victim",
                          reason="reconnected")
    assert await platform.message("m_victim") == before
    assert len(platform.events()) == events_before
    # Only the three reports themselves were published: nothing was sent to any worker because of them.
    assert len(platform.broker.published) == sends_before + 3
    assert [refused(t, "message_not_handed_to_it") for t in ("worker.message.status", "worker.message.bounced")] == \
        [counted[0] + 2, counted[1] + 1]


async def test_a_waiting_session_is_adopted_only_by_the_worker_it_was_moved_from(platform, victim_session):
    sid = await victim_session()
    await platform.change_session(sid, status="RECONNECTING", worker_id=None, moved_from=VICTIM)  # no worker took it
    counted = refused("worker.session.status", "session_not_held")
    platform.broker.hold_for_worker(MALLORY)
    await platform.status(sid, "CONNECTED", worker_id=MALLORY)
    stored = await platform.session(sid)
    assert (stored["status"], stored["worker_id"]) == ("RECONNECTING", None)
    assert refused("worker.session.status", "session_not_held") == counted + 1
    assert [e.type for e in platform.broker.to_worker(MALLORY)] == ["worker.session.stop"]  # it says it runs it: stop
    await platform.status(sid, "CONNECTED", worker_id=VICTIM)
    stored = await platform.session(sid)
    assert (stored["status"], stored["worker_id"]) == ("CONNECTED", VICTIM)


async def test_a_message_that_reached_the_worker_a_failover_moved_the_session_from_is_kept(platform, victim_session):
    """A paused worker resumes still running the session (until its stop arrives): what the phone sent
    it is real. Any other worker is still refused."""
    sid = await victim_session()
    await platform.change_session(sid, status="RECONNECTING", worker_id="worker-2", moved_from=VICTIM)  # the move
    await platform.report(VICTIM, "worker.message.inbound", **_inbound(sid, "DURING"))
    await platform.status(sid, "CONNECTED", worker_id="worker-2")
    stored = await platform.session(sid)
    assert (stored["worker_id"], stored["moved_from"]) == ("worker-2", None)
    await platform.report(VICTIM, "worker.message.inbound", **_inbound(sid, "AFTER"))
    await platform.report(MALLORY, "worker.message.inbound", **_inbound(sid, "STRANGER"))
    kept = await platform.deps.messages.collection.find({"session_id": sid, "direction": "inbound"}).to_list(None)
    assert {m["wa_message_id"] for m in kept} == {"DURING", "AFTER"}
