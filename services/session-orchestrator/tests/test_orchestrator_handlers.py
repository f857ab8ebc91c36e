"""The handlers against in-memory stores and a recording broker (events are real, contract-checked)."""

from datetime import datetime, timedelta, timezone
from functools import partial

import pytest

from wagw_common.envelope import Envelope
from wagw_common.errors import Conflict, LimitExceeded, NotFound, Unavailable
from wagw_session_orchestrator import message_commands as mc
from wagw_session_orchestrator import session_commands as sc
from wagw_session_orchestrator import worker_reports as wr
from wagw_session_orchestrator.known_messages import KnownMessages
from wagw_session_orchestrator.messages_store import inbound_message_id

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]

TENANT, OTHER = "u_tenant", "u_other"
LATER = datetime.now(timezone.utc) + timedelta(minutes=1)


class FakeRpc:
    """The worker registry's side of `worker.select`."""

    def __init__(self, worker_id):
        self.worker_id = worker_id

    async def call(self, request_type, data, **_kwargs):
        assert request_type == "worker.select"
        if self.worker_id is None:
            raise Unavailable("no answer to worker.select in time")
        return {"worker_id": self.worker_id}


def env(message_type, **data):
    return Envelope(type=message_type, source="test", data=data)


@pytest.fixture
def deps(sessions, relay, broker):
    return dict(sessions=sessions, relay=relay, broker=broker)


# What the session-status handler needs besides `deps`: the history it releases held messages from.
_UPLINK: dict = {}


@pytest.fixture(autouse=True)
def _uplink_stores(messages, relay, routes):
    _UPLINK.update(messages=messages, message_relay=relay, routes=routes)


async def _create(deps, limit=5, tenant=TENANT):
    return await sc.when_session_create_requested_create_it(
        env("session.create", tenant_id=tenant, name="Support", description="", session_limit=limit), **deps)


async def _connect(deps, routes, session_id, worker_id="worker-1", tenant=TENANT):
    return await sc.when_session_connect_requested_assign_a_worker(
        env("session.connect", tenant_id=tenant, session_id=session_id), **deps, rpc=FakeRpc(worker_id),
        routes=routes)


async def _report_status(deps, session_id, status, worker_id="worker-1", phone=None):
    await wr.when_worker_reports_session_status_apply_it(env(
        "worker.session.status", worker_id=worker_id, session_id=session_id, status=status, reason=None, phone=phone),
        **deps, **_UPLINK, speaker=worker_id)


async def _connected_session(deps, routes):
    view = await _create(deps)
    await _connect(deps, routes, view["session_id"])
    await _report_status(deps, view["session_id"], "CONNECTED", phone="628123456789")
    return view["session_id"]


async def _send_text(deps, routes, messages, session_id, message_id, **extra):
    await mc.when_send_requested_store_and_route_it(
        env("message.send", tenant_id=TENANT, session_id=session_id, message_id=message_id, to="628111222333",
            type="text", text="Hi"), **deps, messages=messages, routes=routes, queue_limit=10, **extra)


def _status_report(session_id, message_id, status, reason=None):
    return env("worker.message.status", worker_id="worker-1", session_id=session_id, message_id=message_id,
               status=status, reason=reason, at=datetime.now(timezone.utc))


async def test_create_emits_session_created_and_respects_the_limit(deps, relay):
    view = await _create(deps, limit=1)
    assert view["status"] == "DISCONNECTED" and view["session_id"].startswith("s_")
    assert relay.of_type("session.created") == [
        {"tenant_id": TENANT, "session_id": view["session_id"], "name": "Support", "status": "DISCONNECTED"}]
    with pytest.raises(LimitExceeded):
        await _create(deps, limit=1)
    with pytest.raises(LimitExceeded):
        await _create(deps, limit=0, tenant=OTHER)


async def test_connect_assigns_the_worker_routes_start_and_emits_status(deps, routes, broker, relay, sessions):
    view = await _create(deps)
    connected = await _connect(deps, routes, view["session_id"])
    assert connected["status"] == "CONNECTING" and connected["worker_id"] == "worker-1"
    [start] = broker.to_worker("worker-1")
    assert start.type == "worker.session.start" and start.data == {"session_id": view["session_id"], "restore": False}
    [changed] = relay.of_type("session.status_changed")
    assert changed["previous"] == "DISCONNECTED" and changed["status"] == "CONNECTING" and changed["sequence"] == 2
    assert await routes.worker_for(view["session_id"]) == "worker-1"


async def test_connect_twice_is_a_conflict_naming_the_status(deps, routes):
    view = await _create(deps)
    await _connect(deps, routes, view["session_id"])
    with pytest.raises(Conflict) as caught:
        await _connect(deps, routes, view["session_id"])
    assert caught.value.details["status"] == "CONNECTING"


async def test_connect_another_tenants_session_is_not_found(deps, routes):
    view = await _create(deps)
    with pytest.raises(NotFound):
        await _connect(deps, routes, view["session_id"], tenant=OTHER)


async def test_connect_without_a_worker_is_unavailable_and_changes_nothing(deps, routes, sessions):
    view = await _create(deps)
    with pytest.raises(Unavailable, match="no worker available"):
        await _connect(deps, routes, view["session_id"], worker_id=None)
    assert (await sessions.get(view["session_id"]))["status"] == "DISCONNECTED"


async def test_unreachable_worker_leaves_the_session_in_error_not_connecting(deps, routes, sessions, relay):
    deps["broker"].unroutable_workers.add("worker-1")
    view = await _create(deps)
    with pytest.raises(Unavailable):
        await _connect(deps, routes, view["session_id"])
    assert (await sessions.get(view["session_id"]))["status"] == "ERROR"
    assert [e["status"] for e in relay.of_type("session.status_changed")] == ["CONNECTING", "ERROR"]


async def test_qr_then_connected(deps, routes, relay, sessions):
    view = await _create(deps)
    sid = view["session_id"]
    await _connect(deps, routes, sid)
    qr = env("worker.session.qr", worker_id="worker-1", session_id=sid, qr="2@abc", expires_at=LATER)
    await wr.when_worker_shows_qr_store_it(qr, **deps, speaker="worker-1")
    await wr.when_worker_shows_qr_store_it(qr, **deps, speaker="worker-1")  # the same code again: no new events
    assert relay.types()[-2:] == ["session.status_changed", "session.qr_updated"]
    assert [e["sequence"] for e in relay.of_type("session.status_changed")] == [2, 3]
    assert relay.of_type("session.qr_updated")[0]["sequence"] == 4
    assert (await sessions.get(sid))["qr"] == "2@abc"

    await _report_status(deps, sid, "CONNECTED", phone="628123456789")
    stored = await sessions.get(sid)
    assert stored["status"] == "CONNECTED" and stored["qr"] is None and stored["phone"] == "628123456789"
    last = relay.of_type("session.status_changed")[-1]
    assert (last["previous"], last["status"], last["sequence"]) == ("QR_REQUIRED", "CONNECTED", 5)

    await _report_status(deps, sid, "CONNECTED")  # unchanged: no event
    late_qr = env("worker.session.qr", worker_id="worker-1", session_id=sid, qr="2@late", expires_at=LATER)
    await wr.when_worker_shows_qr_store_it(late_qr, **deps, speaker="worker-1")  # out of order: ignored
    assert len(relay.of_type("session.status_changed")) == 3
    assert (await sessions.get(sid))["status"] == "CONNECTED"


async def test_reports_from_a_worker_that_does_not_hold_the_session_are_ignored(deps, routes, relay, sessions):
    view = await _create(deps)
    await _connect(deps, routes, view["session_id"])
    await _report_status(deps, view["session_id"], "CONNECTED", worker_id="worker-stale")
    assert (await sessions.get(view["session_id"]))["status"] == "CONNECTING"
    await _report_status(deps, "s_unknown", "CONNECTED")  # unknown session: logged and acked


async def test_send_through_a_connected_session_is_routed_with_a_jid(deps, routes, messages, broker, relay):
    sid = await _connected_session(deps, routes)
    send = partial(mc.when_send_requested_store_and_route_it, **deps, messages=messages, routes=routes, queue_limit=10)
    command = env("message.send", tenant_id=TENANT, session_id=sid, message_id="m_1", to="+628111222333",
                  type="text", text="Hello")
    await send(command)
    [routed] = [e for e in broker.to_worker("worker-1") if e.type == "worker.message.send"]
    assert routed.data["to"] == "628111222333@s.whatsapp.net" and routed.data["message_id"] == "m_1"
    assert relay.of_type("message.queued")[0]["to"] == "628111222333@s.whatsapp.net"
    # A redelivery of an already-routed (no longer queued) message does nothing.
    messages.docs["m_1"]["status"] = "sent"
    await send(command)
    assert len([e for e in broker.to_worker("worker-1") if e.type == "worker.message.send"]) == 1


@pytest.mark.parametrize("tenant, reason", [(TENANT, "session_not_connected"), (OTHER, "session_not_found")])
async def test_send_through_a_session_that_cannot_send_fails_with_a_reason(deps, routes, messages, relay, tenant, reason):
    view = await _create(deps)
    await mc.when_send_requested_store_and_route_it(
        env("message.send", tenant_id=tenant, session_id=view["session_id"], message_id="m_2", to="628111222333",
            type="text", text="Hello"), **deps, messages=messages, routes=routes, queue_limit=10)
    stored = messages.docs["m_2"]
    assert stored["status"] == "failed" and [s["status"] for s in stored["timeline"]] == ["queued", "failed"]
    assert relay.types()[-2:] == ["message.queued", "message.failed"]
    assert relay.of_type("message.failed")[0]["reason"] == reason


async def test_message_status_moves_forward_only(deps, routes, messages, relay):
    sid = await _connected_session(deps, routes)
    await _send_text(deps, routes, messages, sid, "m_3")
    report = partial(wr.when_worker_reports_message_status_record_it, messages=messages, relay=relay,
                     broker=deps["broker"], speaker="worker-1")
    for status in ("sent", "read", "delivered", "sent", "failed"):
        await report(_status_report(sid, "m_3", status))
    assert messages.docs["m_3"]["status"] == "read"
    # `delivered` came after `read` (receipts race): the status stays, the step and its event are kept, once.
    assert [s["status"] for s in messages.docs["m_3"]["timeline"]] == ["queued", "sent", "read", "delivered"]
    assert [t for t in relay.types() if t.startswith("message.")] == [
        "message.queued", "message.sent", "message.read", "message.delivered"]


async def test_a_sent_report_overtaken_by_a_receipt_still_reaches_the_customer(deps, routes, messages, relay):
    sid = await _connected_session(deps, routes)
    await _send_text(deps, routes, messages, sid, "m_4")
    report = partial(wr.when_worker_reports_message_status_record_it, messages=messages, relay=relay,
                     broker=deps["broker"], speaker="worker-1")
    for status in ("delivered", "sent", "sent", "read"):
        await report(_status_report(sid, "m_4", status))
    assert messages.docs["m_4"]["status"] == "read"
    assert [s["status"] for s in messages.docs["m_4"]["timeline"]] == ["queued", "delivered", "sent", "read"]
    assert [t for t in relay.types() if t.startswith("message.")] == [
        "message.queued", "message.delivered", "message.sent", "message.read"]


class _CountingReads:
    """The in-memory store, counting the reads a report makes before it writes."""

    def __init__(self, store):
        self.store, self.reads = store, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    async def get(self, message_id):
        self.reads += 1
        return await self.store.get(message_id)


@pytest.mark.parametrize("order", [("sent", "delivered", "read"), ("delivered", "sent", "sent", "read")])
async def test_reports_of_a_message_this_replica_stored_skip_reading_it_and_end_the_same(deps, routes, messages,
                                                                                        relay, order):
    sid = await _connected_session(deps, routes)
    known = KnownMessages()
    await _send_text(deps, routes, messages, sid, "m_k", known=known)
    counting = _CountingReads(messages)
    for status in order:
        await wr.when_worker_reports_message_status_record_it(
            _status_report(sid, "m_k", status), messages=counting, relay=relay, broker=deps["broker"], known=known,
            speaker="worker-1")
    steps = [s["status"] for s in messages.docs["m_k"]["timeline"]]
    assert messages.docs["m_k"]["status"] == "read" and steps == ["queued", *dict.fromkeys(order)]
    assert [t for t in relay.types() if t.startswith("message.")] == ["message.queued", *(f"message.{s}" for s in dict.fromkeys(order))]
    # In order, no report reads the message; a step overtaken by a later one (and its duplicate) reads it.
    assert counting.reads == (0 if order == ("sent", "delivered", "read") else 2)


async def test_a_known_messages_report_from_a_worker_it_was_taken_from_changes_nothing(deps, routes, messages, relay):
    sid = await _connected_session(deps, routes)
    known = KnownMessages()
    await _send_text(deps, routes, messages, sid, "m_t", known=known)
    messages.docs["m_t"]["routed_to"] = "worker-2"  # a failover handed it to another worker
    await wr.when_worker_reports_message_status_record_it(
        _status_report(sid, "m_t", "sent"), messages=messages, relay=relay, broker=deps["broker"], known=known,
        speaker="worker-1")
    assert messages.docs["m_t"]["status"] == "queued" and "message.sent" not in relay.types()


async def test_known_messages_keep_only_what_never_changes_and_forget_the_oldest():
    known = KnownMessages(capacity=2)
    base = {"tenant_id": TENANT, "session_id": "s_1", "chat": "62811@s.whatsapp.net", "status": "queued",
            "routed_to": "worker-1", "timeline": []}
    for message_id in ("m_1", "m_2", "m_3"):
        known.remember({**base, "_id": message_id, "direction": "outbound"})
    known.remember({**base, "_id": "m_in", "direction": "inbound"})
    assert known.facts("m_1") is None and len(known) == 2
    assert known.facts("m_3") == {"_id": "m_3", "tenant_id": TENANT, "session_id": "s_1", "chat": "62811@s.whatsapp.net"}


async def test_inbound_message_is_stored_once(deps, routes, messages, relay):
    sid = await _connected_session(deps, routes)
    inbound = env("worker.message.inbound", worker_id="worker-1", session_id=sid, wa_message_id="3EB0", chat="62811@s.whatsapp.net",
                  sender="62811@s.whatsapp.net", type="text", text="hey", at=datetime.now(timezone.utc))
    receive = partial(wr.when_worker_receives_message_store_it, **deps, messages=messages, speaker="worker-1")
    await receive(inbound)
    await receive(inbound)
    assert relay.types().count("message.received") == 1
    stored = messages.docs[inbound_message_id(sid, "3EB0")]
    assert stored["tenant_id"] == TENANT and stored["direction"] == "inbound"


async def test_get_and_list_are_tenant_scoped(deps):
    view = await _create(deps)
    got = await sc.when_session_requested_return_it(
        env("session.get", tenant_id=TENANT, session_id=view["session_id"]), sessions=deps["sessions"])
    assert got["session_id"] == view["session_id"]
    with pytest.raises(NotFound):
        await sc.when_session_requested_return_it(
            env("session.get", tenant_id=OTHER, session_id=view["session_id"]), sessions=deps["sessions"])
    listed = await sc.when_sessions_listed_return_them(env("session.list", tenant_id=OTHER), sessions=deps["sessions"])
    assert listed == {"sessions": []}


async def test_a_failure_from_a_worker_the_session_moved_away_from_is_ignored(deps, routes, messages, relay, sessions):
    """A worker restarted after a failover reads its old commands for a session that now lives elsewhere:
    its `failed` (session not held) must not fail the message, which the new worker will send."""
    sid = await _connected_session(deps, routes)
    await _send_text(deps, routes, messages, sid, "m_5")
    sessions.docs[sid]["worker_id"] = "worker-2"  # moved by a failover
    report = partial(wr.when_worker_reports_message_status_record_it, messages=messages, relay=relay,
                     broker=deps["broker"], sessions=sessions, speaker="worker-1")
    await report(_status_report(sid, "m_5", "failed", reason="session not connected"))
    assert messages.docs["m_5"]["status"] == "queued"
    assert "message.failed" not in relay.types()


def _inbound(sid, wa_message_id, **content):
    return env("worker.message.inbound", worker_id="worker-1", session_id=sid, wa_message_id=wa_message_id,
               chat="62811@s.whatsapp.net", sender="62811@s.whatsapp.net", at=datetime.now(timezone.utc),
               **{"type": "text", "text": None, **content})


async def test_received_media_reply_and_reaction_are_kept_with_the_quoted_messages_history_ids(deps, routes, messages,
                                                                                               relay):
    sid = await _connected_session(deps, routes)
    receive = partial(wr.when_worker_receives_message_store_it, **deps, messages=messages, speaker="worker-1")
    photo = {"mimetype": "image/jpeg", "size": 1234, "sha256": "ab" * 32, "filename": None, "ptt": False}
    await receive(_inbound(sid, "WA1", type="image", text="the receipt", media=photo))
    await receive(_inbound(sid, "WA2", text="this one?", reply_to_wa_message_id="WA1"))
    await receive(_inbound(sid, "WA3", type="reaction", reaction={"wa_message_id": "WA1", "emoji": "👍"}))
    await receive(_inbound(sid, "WA4", type="reaction", reaction={"wa_message_id": "WA-before-link", "emoji": "❤"}))
    first = inbound_message_id(sid, "WA1")
    image, reply, reaction, unknown = relay.of_type("message.received")
    assert image["type"] == "image" and image["media"] == photo and image["text"] == "the receipt"
    assert image["reply_to"] is None
    assert reply["reply_to"] == first and reply["text"] == "this one?"
    assert reaction["reaction"] == {"message_id": first, "emoji": "👍"} and reaction["text"] is None
    assert unknown["reaction"] == {"message_id": None, "emoji": "❤"}
    assert messages.docs[inbound_message_id(sid, "WA2")]["content"]["reply_to"] == first


async def test_an_edit_applies_once_and_never_over_a_later_one_and_a_deletion_ends_edits(deps, routes, messages,
                                                                                          relay):
    from wagw_session_orchestrator import received

    sid = await _connected_session(deps, routes)
    await wr.when_worker_receives_message_store_it(_inbound(sid, "WA1", text="helo"), **deps, messages=messages,
                                               speaker="worker-1")
    on_messages = dict(messages=messages, relay=relay, broker=deps["broker"], sessions=deps["sessions"], speaker="worker-1")
    now = datetime.now(timezone.utc)

    def change(kind, wa_message_id="WA1", at=now, **data):
        return env(f"worker.message.{kind}", worker_id="worker-1", session_id=sid, wa_message_id=wa_message_id,
                   message_id=None, at=at, **data)

    await received.when_worker_reports_edit_record_it(change("edited", text="hello"), **on_messages)
    await received.when_worker_reports_edit_record_it(change("edited", text="hello"), **on_messages)  # repeated
    await received.when_worker_reports_edit_record_it(change("edited", text="older", at=now - timedelta(seconds=5)),
                                                      **on_messages)
    await received.when_worker_reports_edit_record_it(change("edited", "WA-unknown", text="x"), **on_messages)
    stored = messages.docs[inbound_message_id(sid, "WA1")]
    assert stored["text"] == "hello" and relay.of_type("message.edited") == [
        {"tenant_id": TENANT, "session_id": sid, "message_id": stored["_id"], "chat": "62811@s.whatsapp.net",
         "direction": "inbound", "text": "hello", "at": relay.of_type("message.edited")[0]["at"]}]
    for _ in range(2):
        await received.when_worker_reports_deletion_mark_it(change("deleted"), **on_messages)
    await received.when_worker_reports_edit_record_it(change("edited", text="after", at=now + timedelta(seconds=5)),
                                                      **on_messages)
    assert len(relay.of_type("message.deleted")) == 1 and len(relay.of_type("message.edited")) == 1
    assert messages.docs[stored["_id"]]["deleted_at"] is not None and messages.docs[stored["_id"]]["text"] == "hello"


async def test_an_edit_or_revoke_of_a_sent_message_goes_to_its_worker_and_history_changes_when_it_confirms(
        deps, routes, messages, relay, broker):
    from wagw_session_orchestrator import message_changes as mch
    from wagw_session_orchestrator import received

    sid = await _connected_session(deps, routes)
    await _send_text(deps, routes, messages, sid, "m_1")
    changes = dict(messages=messages, sessions=deps["sessions"], routes=routes, broker=broker)

    def edit(message_id="m_1", tenant=TENANT, session_id=None, text="Hello"):
        return mch.when_edit_requested_hand_it_to_the_worker(env(
            "message.edit", tenant_id=tenant, message_id=message_id, session_id=session_id, text=text), **changes)

    with pytest.raises(Conflict) as refused:
        await edit()  # still queued: not on WhatsApp yet
    assert refused.value.details["reason"] == "not_sent"
    await wr.when_worker_reports_message_status_record_it(_status_report(sid, "m_1", "sent"), messages=messages,
                                                          relay=relay, broker=broker, speaker="worker-1")
    for other in (dict(tenant=OTHER), dict(session_id="s_another"), dict(message_id="m_none")):
        with pytest.raises(NotFound):
            await edit(**other)
    view = await edit()
    assert view["text"] == "Hi"  # unchanged until the worker confirms
    [command] = [e for e in broker.to_worker("worker-1") if e.type == "worker.message.edit"]
    assert command.data == {"session_id": sid, "message_id": "m_1", "chat": "628111222333@s.whatsapp.net",
                            "text": "Hello"}
    confirm = dict(worker_id="worker-1", session_id=sid, wa_message_id=None, message_id="m_1",
                   at=datetime.now(timezone.utc))
    on_messages = dict(messages=messages, relay=relay, broker=broker, sessions=deps["sessions"], speaker="worker-1")
    await received.when_worker_reports_edit_record_it(env("worker.message.edited", **confirm, text="Hello"),
                                                      **on_messages)
    assert messages.docs["m_1"]["text"] == "Hello" and relay.of_type("message.edited")[0]["direction"] == "outbound"

    await mch.when_revoke_requested_hand_it_to_the_worker(env(
        "message.revoke", tenant_id=TENANT, message_id="m_1", session_id=sid), **changes)
    assert broker.to_worker("worker-1")[-1].type == "worker.message.revoke"
    await received.when_worker_reports_deletion_mark_it(env("worker.message.deleted", **confirm), **on_messages)
    with pytest.raises(Conflict) as refused:
        await edit()
    assert refused.value.details["reason"] == "deleted"


async def test_what_whatsapp_would_refuse_is_refused_with_its_reason(deps, routes, messages, relay, broker):
    from wagw_session_orchestrator import message_changes as mch

    sid = await _connected_session(deps, routes)
    receive = partial(wr.when_worker_receives_message_store_it, **deps, messages=messages, speaker="worker-1")
    await receive(_inbound(sid, "WA1", text="hi"))
    await mc.when_send_requested_store_and_route_it(
        env("message.send", tenant_id=TENANT, session_id=sid, message_id="m_loc", to="628111222333", type="location",
            location={"latitude": 1.0, "longitude": 2.0}), **deps, messages=messages, routes=routes, queue_limit=10)
    await _send_text(deps, routes, messages, sid, "m_old")
    for message_id in ("m_loc", "m_old"):
        messages.docs[message_id]["status"] = "read"
    messages.docs["m_old"]["created_at"] -= timedelta(minutes=16)
    changes = dict(messages=messages, sessions=deps["sessions"], routes=routes, broker=broker)
    for message_id, reason in ((inbound_message_id(sid, "WA1"), "received"), ("m_loc", "not_editable"),
                               ("m_old", "edit_window_passed")):
        with pytest.raises(Conflict) as refused:
            await mch.when_edit_requested_hand_it_to_the_worker(env(
                "message.edit", tenant_id=TENANT, message_id=message_id, session_id=None, text="x"), **changes)
        assert refused.value.details["reason"] == reason, message_id
    await mch.when_revoke_requested_hand_it_to_the_worker(env(
        "message.revoke", tenant_id=TENANT, message_id="m_old", session_id=None), **changes)  # no window for that
    await _report_status(deps, sid, "DISCONNECTED")
    with pytest.raises(Conflict) as refused:
        await mch.when_revoke_requested_hand_it_to_the_worker(env(
            "message.revoke", tenant_id=TENANT, message_id="m_old", session_id=None), **changes)
    assert refused.value.details["reason"] == "session_not_connected"


async def test_a_chat_read_or_presence_goes_to_the_sessions_worker_or_is_refused(deps, routes, broker, messages):
    from wagw_session_orchestrator import chat_actions

    sid = await _connected_session(deps, routes)
    acting = dict(sessions=deps["sessions"], routes=routes, broker=broker)
    read = await chat_actions.when_chat_read_requested_hand_it_to_the_worker(
        env("session.read_chat", tenant_id=TENANT, session_id=sid, chat="628123456789"), **acting,
        messages=messages)
    assert read == {"session_id": sid, "action": "read", "chat": "628123456789@s.whatsapp.net", "presence": None}
    await chat_actions.when_presence_requested_hand_it_to_the_worker(
        env("session.presence", tenant_id=TENANT, session_id=sid, presence="available", chat=None), **acting)
    assert [(e.type, e.data) for e in broker.to_worker("worker-1")[-2:]] == [
        ("worker.chat.read", {"session_id": sid, "chat": "628123456789@s.whatsapp.net"}),
        ("worker.chat.presence", {"session_id": sid, "presence": "available", "chat": None})]
    with pytest.raises(NotFound):
        await chat_actions.when_chat_read_requested_hand_it_to_the_worker(
            env("session.read_chat", tenant_id=OTHER, session_id=sid, chat="628123456789"), **acting,
            messages=messages)
    await _report_status(deps, sid, "DISCONNECTED")
    with pytest.raises(Conflict) as refused:
        await chat_actions.when_chat_read_requested_hand_it_to_the_worker(
            env("session.read_chat", tenant_id=TENANT, session_id=sid, chat="628123456789"), **acting,
            messages=messages)
    assert refused.value.details == {"reason": "session_not_connected", "status": "DISCONNECTED"}


async def test_a_vote_in_a_poll_the_session_sent_names_the_poll_by_its_history_id(deps, routes, messages, relay,
                                                                                  broker):
    sid = await _connected_session(deps, routes)
    await mc.when_send_requested_store_and_route_it(
        env("message.send", tenant_id=TENANT, session_id=sid, message_id="m_poll", to="628111222333", type="poll",
            poll={"name": "Lunch?", "options": ["Soto", "Rendang"], "selectable_count": 1}),
        **deps, messages=messages, routes=routes, queue_limit=10)
    [command] = [e for e in broker.to_worker("worker-1") if e.type == "worker.message.send"]
    assert command.data["poll"]["options"] == ["Soto", "Rendang"] and "media" not in command.data
    sent = env("worker.message.status", worker_id="worker-1", session_id=sid, message_id="m_poll", status="sent",
               reason=None, at=datetime.now(timezone.utc), wa_message_id="WA-POLL")
    await wr.when_worker_reports_message_status_record_it(sent, messages=messages, relay=relay, broker=broker,
                                                          speaker="worker-1")
    await wr.when_worker_receives_message_store_it(
        _inbound(sid, "WA-VOTE", type="poll_vote", poll_vote={"wa_message_id": "WA-POLL", "options": ["Soto"]}),
        **deps, messages=messages, speaker="worker-1")
    [vote] = relay.of_type("message.received")
    assert vote["type"] == "poll_vote" and vote["poll_vote"] == {"message_id": "m_poll", "options": ["Soto"]}


async def test_chats_come_from_history_latest_first_with_unread_counts_until_marked_read(deps, routes, messages,
                                                                                       broker):
    from wagw_session_orchestrator import chat_actions

    sid = await _connected_session(deps, routes)
    receive = partial(wr.when_worker_receives_message_store_it, **deps, messages=messages, speaker="worker-1")
    await receive(_inbound(sid, "WA1", text="one"))
    messages.docs[inbound_message_id(sid, "WA1")]["created_at"] -= timedelta(seconds=1)  # not in the same millisecond
    await receive(_inbound(sid, "WA2", text="two"))
    await _send_text(deps, routes, messages, sid, "m_other")  # to 628111222333, after them
    messages.docs["m_other"]["created_at"] += timedelta(seconds=1)
    listing = partial(chat_actions.when_chats_listed_return_them, sessions=deps["sessions"], messages=messages)
    chats = (await listing(env("message.chats", tenant_id=TENANT, session_id=sid, limit=50)))["chats"]
    assert [(c["chat"], c["unread"], c["last_message"]["text"]) for c in chats] == [
        ("628111222333@s.whatsapp.net", 0, "Hi"), ("62811@s.whatsapp.net", 2, "two")]
    await chat_actions.when_chat_read_requested_hand_it_to_the_worker(
        env("session.read_chat", tenant_id=TENANT, session_id=sid, chat="62811@s.whatsapp.net"), sessions=deps["sessions"],
        routes=routes, broker=broker, messages=messages)
    chats = (await listing(env("message.chats", tenant_id=TENANT, session_id=sid, limit=1)))["chats"]
    assert len(chats) == 1
    assert (await listing(env("message.chats", tenant_id=TENANT, session_id=sid, limit=50)))["chats"][1]["unread"] == 0
    with pytest.raises(NotFound):
        await listing(env("message.chats", tenant_id=OTHER, session_id=sid, limit=50))

