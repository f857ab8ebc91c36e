"""A worker speaks only for the sessions placed on it: every report type, sent by a worker that does
not hold the session (whatever worker its body names), is refused, counted and turns into no event."""

from datetime import datetime, timedelta, timezone
from functools import partial

import pytest
from prometheus_client import REGISTRY

from wagw_common.envelope import Envelope
from wagw_session_orchestrator import message_commands as mc
from wagw_session_orchestrator import session_commands as sc
from wagw_session_orchestrator import worker_reports as wr
from wagw_session_orchestrator.messages_store import inbound_message_id

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]

VICTIM, MALLORY = "worker-1", "worker-mallory"
NOW = datetime.now(timezone.utc)


def report(message_type, **data):
    # The body names the victim's worker: only `speaker` (whom the broker vouches for) may count.
    return Envelope(type=message_type, source=f"worker/{VICTIM}", data={"worker_id": VICTIM, **data})


def refused(message_type: str, reason: str) -> float:
    return REGISTRY.get_sample_value("wagw_worker_reports_refused_total",
                                     {"type": message_type, "reason": reason}) or 0.0


class OneWorker:
    def __init__(self, worker_id):
        self.worker_id = worker_id

    async def call(self, request_type, data, **_kwargs):
        return {"worker_id": self.worker_id}


@pytest.fixture
def on_sessions(sessions, relay, broker):
    return dict(sessions=sessions, relay=relay, broker=broker)


@pytest.fixture
def status(on_sessions, messages, relay, routes):
    return partial(wr.when_worker_reports_session_status_apply_it, **on_sessions, messages=messages,
                   message_relay=relay, routes=routes)


@pytest.fixture
def victim_session(on_sessions, routes, status):
    """A tenant's session, connecting on the victim's worker; `connected=True` has it report CONNECTED."""
    async def make(connected=True):
        view = await sc.when_session_create_requested_create_it(Envelope(
            type="session.create", source="test",
            data={"tenant_id": "u_victim", "name": "Sales", "description": "", "session_limit": 5}), **on_sessions)
        sid = view["session_id"]
        await sc.when_session_connect_requested_assign_a_worker(Envelope(
            type="session.connect", source="test", data={"tenant_id": "u_victim", "session_id": sid}),
            **on_sessions, rpc=OneWorker(VICTIM), routes=routes)
        if connected:
            await status(report("worker.session.status", session_id=sid, status="CONNECTED", reason=None,
                                phone="628123456789"), speaker=VICTIM)
        return sid
    return make


@pytest.fixture
def victim_send(on_sessions, messages, routes):
    async def send(sid, message_id):
        await mc.when_send_requested_store_and_route_it(Envelope(
            type="message.send", source="test",
            data={"tenant_id": "u_victim", "session_id": sid, "message_id": message_id, "to": "628111222333",
                  "type": "text", "text": "Hi"}), **on_sessions,
            messages=messages, routes=routes, queue_limit=10)
    return send


async def test_a_status_about_a_session_held_by_another_worker_is_refused(victim_session, status, sessions, relay,
                                                                          broker):
    sid = await victim_session()
    events_before, counted = len(relay.flushed), refused("worker.session.status", "session_not_held")
    await status(report("worker.session.status", session_id=sid, status="LOGGED_OUT", reason="x", phone=None),
                 speaker=MALLORY)
    assert (await sessions.get(sid))["status"] == "CONNECTED"
    assert len(relay.flushed) == events_before
    assert refused("worker.session.status", "session_not_held") == counted + 1
    # The real worker is still the session's worker: its next report is applied.
    await status(report("worker.session.status", session_id=sid, status="DISCONNECTED", reason="closed", phone=None),
                 speaker=VICTIM)
    assert (await sessions.get(sid))["status"] == "DISCONNECTED"
    assert broker.to_worker(MALLORY) == []  # a resting state reported by a stranger is not even answered


async def test_a_qr_or_pairing_code_for_a_session_held_by_another_worker_is_refused(victim_session, on_sessions,
                                                                                    sessions, relay):
    sid = await victim_session(connected=False)
    events_before = len(relay.flushed)
    counted = [refused(t, "session_not_held") for t in ("worker.session.qr", "worker.session.pairing_code")]
    later = NOW + timedelta(minutes=1)
    await wr.when_worker_shows_qr_store_it(report("worker.session.qr", session_id=sid, qr="2@evil", expires_at=later),
                                           **on_sessions, speaker=MALLORY)
    await wr.when_worker_shows_pairing_code_store_it(
        report("worker.session.pairing_code", session_id=sid, code="EVIL-CODE", expires_at=later),
        **on_sessions, speaker=MALLORY)
    stored = await sessions.get(sid)
    assert (stored.get("qr"), stored.get("pairing_code"), stored["status"]) == (None, None, "CONNECTING")
    assert len(relay.flushed) == events_before
    assert [refused(t, "session_not_held") for t in ("worker.session.qr", "worker.session.pairing_code")] == \
        [c + 1 for c in counted]


async def test_an_inbound_message_for_a_session_held_by_another_worker_is_not_stored(victim_session, on_sessions,
                                                                                     messages, relay):
    sid = await victim_session()
    events_before, counted = len(relay.flushed), refused("worker.message.inbound", "session_not_held")
    inbound = report("worker.message.inbound", session_id=sid, wa_message_id="3EB0FAKE", chat="62811@s.whatsapp.net",
                     sender="62811@s.whatsapp.net", type="text", text="pay here", at=NOW)
    receive = partial(wr.when_worker_receives_message_store_it, **on_sessions, messages=messages)
    await receive(inbound, speaker=MALLORY)
    assert inbound_message_id(sid, "3EB0FAKE") not in messages.docs
    assert len(relay.flushed) == events_before
    assert refused("worker.message.inbound", "session_not_held") == counted + 1
    await receive(inbound, speaker=VICTIM)  # the session's own worker: stored
    assert inbound_message_id(sid, "3EB0FAKE") in messages.docs


@pytest.mark.parametrize("change", ["edited", "deleted"])
async def test_an_edit_or_deletion_for_a_session_held_by_another_worker_changes_nothing(
        victim_session, on_sessions, messages, relay, change):
    from wagw_session_orchestrator import received

    sid = await victim_session()
    receive = partial(wr.when_worker_receives_message_store_it, **on_sessions, messages=messages, speaker=VICTIM)
    await receive(report("worker.message.inbound", session_id=sid, wa_message_id="3EB0REAL", chat="62811@s.whatsapp.net",
                         sender="62811@s.whatsapp.net", type="text", text="see you at 5", at=NOW))
    stored = inbound_message_id(sid, "3EB0REAL")
    handler = {"edited": received.when_worker_reports_edit_record_it,
               "deleted": received.when_worker_reports_deletion_mark_it}[change]
    body = {"text": "see you at 9"} if change == "edited" else {}
    forged = report(f"worker.message.{change}", session_id=sid, wa_message_id="3EB0REAL", message_id=None,
                    at=NOW + timedelta(seconds=1), **body)
    events_before, counted = len(relay.flushed), refused(f"worker.message.{change}", "session_not_held")
    await handler(forged, **on_sessions, messages=messages, speaker=MALLORY)
    assert messages.docs[stored]["text"] == "see you at 5" and messages.docs[stored].get("deleted_at") is None
    assert len(relay.flushed) == events_before
    assert refused(f"worker.message.{change}", "session_not_held") == counted + 1
    await handler(forged, **on_sessions, messages=messages, speaker=VICTIM)  # the session's own worker: applied
    assert len(relay.flushed) == events_before + 1


@pytest.mark.parametrize("held", [False, True], ids=["handed-to-its-worker", "held-for-no-worker"])
async def test_a_status_or_bounce_of_a_send_handed_to_another_worker_is_refused(
        victim_session, victim_send, on_sessions, sessions, messages, relay, broker, held):
    sid = await victim_session()
    if held:
        sessions.docs[sid].update(status="RECONNECTING", worker_id=None, moved_from=VICTIM)
    await victim_send(sid, "m_victim")
    assert messages.docs["m_victim"]["routed_to"] == (None if held else VICTIM)
    before = dict(messages.docs["m_victim"])
    events_before, sends_before = len(relay.flushed), len(broker.sent)
    counted = [refused(t, "message_not_handed_to_it") for t in ("worker.message.status", "worker.message.bounced")]
    deps = dict(messages=messages, relay=relay, broker=broker, sessions=sessions)
    for step in ("failed", "read"):
        await wr.when_worker_reports_message_status_record_it(
            report("worker.message.status", session_id=sid, message_id="m_victim", status=step, reason="x", at=NOW),
            **deps, speaker=MALLORY)
    await wr.when_worker_bounces_message_route_it_again(
        report("worker.message.bounced", session_id=sid, message_id="m_victim", reason="reconnected"),
        **deps, speaker=MALLORY)
    assert messages.docs["m_victim"] == before
    assert (len(relay.flushed), len(broker.sent)) == (events_before, sends_before)
    assert [refused(t, "message_not_handed_to_it") for t in ("worker.message.status", "worker.message.bounced")] == \
        [counted[0] + 2, counted[1] + 1]


async def test_a_waiting_session_is_adopted_only_by_the_worker_it_was_moved_from(victim_session, status, sessions,
                                                                                 broker):
    sid = await victim_session()
    sessions.docs[sid].update(status="RECONNECTING", worker_id=None, moved_from=VICTIM)  # no worker could take it
    counted = refused("worker.session.status", "session_not_held")
    connected = report("worker.session.status", session_id=sid, status="CONNECTED", reason=None, phone=None)
    await status(connected, speaker=MALLORY)
    assert (sessions.docs[sid]["status"], sessions.docs[sid]["worker_id"]) == ("RECONNECTING", None)
    assert refused("worker.session.status", "session_not_held") == counted + 1
    assert [e.type for e in broker.to_worker(MALLORY)] == ["worker.session.stop"]  # it says it runs it: stop
    await status(connected, speaker=VICTIM)
    assert (sessions.docs[sid]["status"], sessions.docs[sid]["worker_id"]) == ("CONNECTED", VICTIM)


async def test_a_message_that_reached_the_worker_a_failover_moved_the_session_from_is_kept(
        victim_session, status, on_sessions, sessions, messages):
    """A paused worker resumes still running the session (until its stop arrives): what the phone sent
    it is real. Any other worker is still refused."""
    sid = await victim_session()
    sessions.docs[sid].update(status="RECONNECTING", worker_id="worker-2", moved_from=VICTIM)  # the move
    receive = partial(wr.when_worker_receives_message_store_it, **on_sessions, messages=messages)

    def inbound(wa_message_id):
        return report("worker.message.inbound", session_id=sid, wa_message_id=wa_message_id, chat="62811@s.whatsapp.net",
                      sender="62811@s.whatsapp.net", type="text", text="hi", at=NOW)

    await receive(inbound("DURING"), speaker=VICTIM)
    await status(report("worker.session.status", session_id=sid, status="CONNECTED", reason=None, phone=None),
                 speaker="worker-2")
    assert (sessions.docs[sid]["worker_id"], sessions.docs[sid]["moved_from"]) == ("worker-2", None)
    await receive(inbound("AFTER"), speaker=VICTIM)
    await receive(inbound("STRANGER"), speaker=MALLORY)
    stored = {m["wa_message_id"] for m in messages.docs.values()}
    assert stored == {"DURING", "AFTER"}
