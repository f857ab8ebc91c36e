"""Sessions created, connected and reported on, messages sent, reported and received: each message
through the orchestrator's router on the in-memory broker (contracts checked, replies as the gateway
gets them), with the real stores on a database of the test's own."""

from datetime import datetime, timedelta, timezone

import pytest

from wagw_common.errors import RemoteError
from wagw_session_orchestrator.messages_store import inbound_message_id

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

TENANT, OTHER = "u_tenant", "u_other"
# Far enough ahead to outlast a whole suite run: taken when the module is collected, not per test.
LATER = datetime.now(timezone.utc) + timedelta(hours=6)


def _status(session_id, message_id, status, reason=None, **extra):
    return dict(session_id=session_id, message_id=message_id, status=status, reason=reason,
                at=datetime.now(timezone.utc), **extra)


def _inbound(sid, wa_message_id, **content):
    return dict(session_id=sid, wa_message_id=wa_message_id, at=datetime.now(timezone.utc),
                **{"chat": "62811@s.whatsapp.net", "sender": "62811@s.whatsapp.net", "type": "text", "text": None,
                   **content})


def _message_events(platform):
    return [t for t in platform.event_types() if t.startswith("message.")]


async def test_create_emits_session_created_and_respects_the_limit(platform):
    view = await platform.ask("session.create", tenant_id=TENANT, name="Support", description="", session_limit=1)
    assert view["status"] == "DISCONNECTED" and view["session_id"].startswith("s_")
    assert platform.events("session.created") == [
        {"tenant_id": TENANT, "session_id": view["session_id"], "name": "Support", "status": "DISCONNECTED"}]
    for tenant, limit in ((TENANT, 1), (OTHER, 0)):
        with pytest.raises(RemoteError) as refused:
            await platform.create(tenant_id=tenant, limit=limit)
        assert refused.value.code == "limit_exceeded"


async def test_connect_assigns_the_worker_routes_start_and_emits_status(platform):
    sid = await platform.create()
    connected = await platform.ask("session.connect", tenant_id=TENANT, session_id=sid)
    assert connected["status"] == "CONNECTING" and connected["worker_id"] == "worker-1"
    assert platform.to_worker("worker-1") == [{"session_id": sid, "restore": False}]
    assert platform.broker.to_worker("worker-1")[0].type == "worker.session.start"
    [changed] = platform.events("session.status_changed")
    assert changed["previous"] == "DISCONNECTED" and changed["status"] == "CONNECTING" and changed["sequence"] == 2
    assert await platform.deps.routes.worker_for(sid) == "worker-1"


async def test_connect_twice_is_a_conflict_naming_the_status(platform):
    sid = await platform.create()
    await platform.ask("session.connect", tenant_id=TENANT, session_id=sid)
    with pytest.raises(RemoteError) as refused:
        await platform.ask("session.connect", tenant_id=TENANT, session_id=sid)
    assert refused.value.code == "conflict" and refused.value.details["status"] == "CONNECTING"


async def test_connect_another_tenants_session_is_not_found(platform):
    sid = await platform.create()
    with pytest.raises(RemoteError) as refused:
        await platform.ask("session.connect", tenant_id=OTHER, session_id=sid)
    assert refused.value.code == "not_found"


async def test_connect_without_a_worker_is_unavailable_and_changes_nothing(platform, registry):
    sid = await platform.create()
    del registry.replies["worker.select"]  # the registry does not answer
    with pytest.raises(RemoteError, match="no worker available") as refused:
        await platform.ask("session.connect", tenant_id=TENANT, session_id=sid)
    assert refused.value.code == "unavailable"
    assert (await platform.session(sid))["status"] == "DISCONNECTED"


async def test_unreachable_worker_leaves_the_session_in_error_not_connecting(platform, registry):
    sid = await platform.create()
    registry.replies["worker.select"] = {"worker_id": "worker-gone"}  # its queue is gone
    with pytest.raises(RemoteError) as refused:
        await platform.ask("session.connect", tenant_id=TENANT, session_id=sid)
    assert refused.value.code == "unavailable"
    assert (await platform.session(sid))["status"] == "ERROR"
    assert [e["status"] for e in platform.events("session.status_changed")] == ["CONNECTING", "ERROR"]


async def test_qr_then_connected(platform):
    sid = await platform.create()
    await platform.ask("session.connect", tenant_id=TENANT, session_id=sid)
    for _ in range(2):  # the same code again: no new events
        await platform.report("worker-1", "worker.session.qr", session_id=sid, qr="2@abc", expires_at=LATER)
    assert platform.event_types()[-2:] == ["session.status_changed", "session.qr_updated"]
    assert [e["sequence"] for e in platform.events("session.status_changed")] == [2, 3]
    assert platform.events("session.qr_updated")[0]["sequence"] == 4
    assert (await platform.session(sid))["qr"] == "2@abc"

    await platform.status(sid, "CONNECTED", phone="628123456789")
    stored = await platform.session(sid)
    assert stored["status"] == "CONNECTED" and stored["qr"] is None and stored["phone"] == "628123456789"
    last = platform.events("session.status_changed")[-1]
    assert (last["previous"], last["status"], last["sequence"]) == ("QR_REQUIRED", "CONNECTED", 5)

    await platform.status(sid, "CONNECTED")  # unchanged: no event
    await platform.report("worker-1", "worker.session.qr", session_id=sid, qr="2@late", expires_at=LATER)  # ignored
    assert len(platform.events("session.status_changed")) == 3
    assert (await platform.session(sid))["status"] == "CONNECTED"


async def test_reports_from_a_worker_that_does_not_hold_the_session_are_ignored(platform):
    sid = await platform.create()
    await platform.ask("session.connect", tenant_id=TENANT, session_id=sid)
    await platform.status(sid, "CONNECTED", worker_id="worker-stale")
    assert (await platform.session(sid))["status"] == "CONNECTING"
    await platform.status("s_unknown", "CONNECTED")  # unknown session: logged and acked
    assert platform.broker.dead_letters("session-orchestrator.session-reports") == []


async def test_send_through_a_connected_session_is_routed_with_a_jid(platform):
    sid = await platform.connected()
    await platform.send(sid, "m_1", to="+628111222333", text="Hello")
    [routed] = platform.to_worker("worker-1", "worker.message.send")
    assert routed["to"] == "628111222333@s.whatsapp.net" and routed["message_id"] == "m_1"
    assert platform.events("message.queued")[0]["to"] == "628111222333@s.whatsapp.net"
    # A redelivery of an already-routed (no longer queued) message does nothing.
    await platform.change_message("m_1", status="sent")
    await platform.send(sid, "m_1", to="+628111222333", text="Hello")
    assert len(platform.to_worker("worker-1", "worker.message.send")) == 1


@pytest.mark.parametrize("tenant, reason", [(TENANT, "session_not_connected"), (OTHER, "session_not_found")])
async def test_send_through_a_session_that_cannot_send_fails_with_a_reason(platform, tenant, reason):
    sid = await platform.create()
    await platform.send(sid, "m_2", tenant_id=tenant, text="Hello")
    stored = await platform.message("m_2")
    assert stored["status"] == "failed" and [s["status"] for s in stored["timeline"]] == ["queued", "failed"]
    assert platform.event_types()[-2:] == ["message.queued", "message.failed"]
    assert platform.events("message.failed")[0]["reason"] == reason


async def test_message_status_moves_forward_only(platform):
    sid = await platform.connected()
    await platform.send(sid, "m_3")
    for status in ("sent", "read", "delivered", "sent", "failed"):
        await platform.report("worker-1", "worker.message.status", **_status(sid, "m_3", status))
    stored = await platform.message("m_3")
    assert stored["status"] == "read"
    # `delivered` came after `read` (receipts race): the status stays, the step and its event are kept, once.
    assert [s["status"] for s in stored["timeline"]] == ["queued", "sent", "read", "delivered"]
    assert _message_events(platform) == ["message.queued", "message.sent", "message.read", "message.delivered"]


async def test_a_sent_report_overtaken_by_a_receipt_still_reaches_the_customer(platform):
    sid = await platform.connected()
    await platform.send(sid, "m_4")
    for status in ("delivered", "sent", "sent", "read"):
        await platform.report("worker-1", "worker.message.status", **_status(sid, "m_4", status))
    stored = await platform.message("m_4")
    assert stored["status"] == "read"
    assert [s["status"] for s in stored["timeline"]] == ["queued", "delivered", "sent", "read"]
    assert _message_events(platform) == ["message.queued", "message.delivered", "message.sent", "message.read"]


@pytest.mark.parametrize("order", [("sent", "delivered", "read"), ("delivered", "sent", "sent", "read")])
async def test_reports_of_a_message_this_replica_stored_skip_reading_it_and_end_the_same(platform, monkeypatch,
                                                                                        order):
    sid = await platform.connected()
    await platform.send(sid, "m_k")  # remembered as sent by this replica
    store, reads = platform.deps.messages, []
    read = store.get

    async def counted(message_id):
        reads.append(message_id)
        return await read(message_id)

    monkeypatch.setattr(store, "get", counted)
    for status in order:
        await platform.report("worker-1", "worker.message.status", **_status(sid, "m_k", status))
    stored = await read("m_k")
    assert stored["status"] == "read" and [s["status"] for s in stored["timeline"]] == ["queued", *dict.fromkeys(order)]
    assert _message_events(platform) == ["message.queued", *(f"message.{s}" for s in dict.fromkeys(order))]
    # In order, no report reads the message; a step overtaken by a later one (and its duplicate) reads it.
    assert len(reads) == (0 if order == ("sent", "delivered", "read") else 2)


async def test_a_known_messages_report_from_a_worker_it_was_taken_from_changes_nothing(platform):
    sid = await platform.connected()
    await platform.send(sid, "m_t")
    await platform.change_message("m_t", routed_to="worker-2")  # a failover handed it to another worker
    await platform.report("worker-1", "worker.message.status", **_status(sid, "m_t", "sent"))
    assert (await platform.message("m_t"))["status"] == "queued" and "message.sent" not in platform.event_types()


async def test_inbound_message_is_stored_once(platform):
    sid = await platform.connected()
    for _ in range(2):
        await platform.report("worker-1", "worker.message.inbound", **_inbound(sid, "3EB0", text="hey"))
    assert platform.event_types().count("message.received") == 1
    stored = await platform.message(inbound_message_id(sid, "3EB0"))
    assert stored["tenant_id"] == TENANT and stored["direction"] == "inbound"


async def test_get_and_list_are_tenant_scoped(platform):
    sid = await platform.create()
    assert (await platform.ask("session.get", tenant_id=TENANT, session_id=sid))["session_id"] == sid
    with pytest.raises(RemoteError) as refused:
        await platform.ask("session.get", tenant_id=OTHER, session_id=sid)
    assert refused.value.code == "not_found"
    assert await platform.ask("session.list", tenant_id=OTHER) == {"sessions": []}


async def test_a_failure_from_a_worker_the_session_moved_away_from_is_ignored(platform):
    """A worker restarted after a failover reads its old commands for a session that now lives elsewhere:
    its `failed` (session not held) must not fail the message, which the new worker will send."""
    sid = await platform.connected()
    await platform.send(sid, "m_5")
    await platform.change_session(sid, worker_id="worker-2")  # moved by a failover
    await platform.report("worker-1", "worker.message.status", **_status(sid, "m_5", "failed", "session not connected"))
    assert (await platform.message("m_5"))["status"] == "queued"
    assert "message.failed" not in platform.event_types()


async def test_received_media_reply_and_reaction_are_kept_with_the_quoted_messages_history_ids(platform):
    sid = await platform.connected()
    photo = {"mimetype": "image/jpeg", "size": 1234, "sha256": "ab" * 32, "filename": None, "ptt": False}
    for report in (_inbound(sid, "WA1", type="image", text="the receipt", media=photo),
                   _inbound(sid, "WA2", text="this one?", reply_to_wa_message_id="WA1"),
                   _inbound(sid, "WA3", type="reaction", reaction={"wa_message_id": "WA1", "emoji": "👍"}),
                   _inbound(sid, "WA4", type="reaction", reaction={"wa_message_id": "WA-before-link", "emoji": "❤"})):
        await platform.report("worker-1", "worker.message.inbound", **report)
    first = inbound_message_id(sid, "WA1")
    image, reply, reaction, unknown = platform.events("message.received")
    assert image["type"] == "image" and image["media"] == photo and image["text"] == "the receipt"
    assert image["reply_to"] is None
    assert reply["reply_to"] == first and reply["text"] == "this one?"
    assert reaction["reaction"] == {"message_id": first, "emoji": "👍"} and reaction["text"] is None
    assert unknown["reaction"] == {"message_id": None, "emoji": "❤"}
    assert (await platform.message(inbound_message_id(sid, "WA2")))["content"]["reply_to"] == first


async def test_an_edit_applies_once_and_never_over_a_later_one_and_a_deletion_ends_edits(platform):
    sid = await platform.connected()
    await platform.report("worker-1", "worker.message.inbound", **_inbound(sid, "WA1", text="helo"))
    now = datetime.now(timezone.utc)

    async def change(kind, wa_message_id="WA1", at=now, **data):
        await platform.report("worker-1", f"worker.message.{kind}", session_id=sid, wa_message_id=wa_message_id,
                              message_id=None, at=at, **data)

    await change("edited", text="hello")
    await change("edited", text="hello")  # repeated
    await change("edited", text="older", at=now - timedelta(seconds=5))
    await change("edited", "WA-unknown", text="x")
    stored = await platform.message(inbound_message_id(sid, "WA1"))
    [edited] = platform.events("message.edited")
    assert stored["text"] == "hello" and edited == {
        "tenant_id": TENANT, "session_id": sid, "message_id": stored["_id"], "chat": "62811@s.whatsapp.net",
        "direction": "inbound", "text": "hello", "at": edited["at"]}
    for _ in range(2):
        await change("deleted")
    await change("edited", text="after", at=now + timedelta(seconds=5))
    assert len(platform.events("message.deleted")) == 1 and len(platform.events("message.edited")) == 1
    stored = await platform.message(stored["_id"])
    assert stored["deleted_at"] is not None and stored["text"] == "hello"


async def test_an_edit_or_revoke_of_a_sent_message_goes_to_its_worker_and_history_changes_when_it_confirms(platform):
    sid = await platform.connected()
    await platform.send(sid, "m_1")

    async def edit(message_id="m_1", tenant=TENANT, session_id=None, text="Hello"):
        return await platform.ask("message.edit", tenant_id=tenant, message_id=message_id, session_id=session_id,
                                  text=text)

    with pytest.raises(RemoteError) as refused:
        await edit()  # still queued: not on WhatsApp yet
    assert refused.value.details["reason"] == "not_sent"
    await platform.report("worker-1", "worker.message.status", **_status(sid, "m_1", "sent"))
    for other in (dict(tenant=OTHER), dict(session_id="s_another"), dict(message_id="m_none")):
        with pytest.raises(RemoteError) as refused:
            await edit(**other)
        assert refused.value.code == "not_found"
    view = await edit()
    assert view["text"] == "Hi"  # unchanged until the worker confirms
    assert platform.to_worker("worker-1", "worker.message.edit") == [
        {"session_id": sid, "message_id": "m_1", "chat": "628111222333@s.whatsapp.net", "text": "Hello"}]
    confirm = dict(session_id=sid, wa_message_id=None, message_id="m_1", at=datetime.now(timezone.utc))
    await platform.report("worker-1", "worker.message.edited", **confirm, text="Hello")
    assert (await platform.message("m_1"))["text"] == "Hello"
    assert platform.events("message.edited")[0]["direction"] == "outbound"

    await platform.ask("message.revoke", tenant_id=TENANT, message_id="m_1", session_id=sid)
    assert platform.broker.to_worker("worker-1")[-1].type == "worker.message.revoke"
    await platform.report("worker-1", "worker.message.deleted", **confirm)
    with pytest.raises(RemoteError) as refused:
        await edit()
    assert refused.value.details["reason"] == "deleted"


async def test_what_whatsapp_would_refuse_is_refused_with_its_reason(platform):
    sid = await platform.connected()
    await platform.report("worker-1", "worker.message.inbound", **_inbound(sid, "WA1", text="hi"))
    await platform.send(sid, "m_loc", type="location", text=None, location={"latitude": 1.0, "longitude": 2.0})
    await platform.send(sid, "m_old")
    for message_id in ("m_loc", "m_old"):
        await platform.change_message(message_id, status="read")
    old = await platform.message("m_old")
    await platform.change_message("m_old", created_at=old["created_at"] - timedelta(minutes=16))
    for message_id, reason in ((inbound_message_id(sid, "WA1"), "received"), ("m_loc", "not_editable"),
                               ("m_old", "edit_window_passed")):
        with pytest.raises(RemoteError) as refused:
            await platform.ask("message.edit", tenant_id=TENANT, message_id=message_id, session_id=None, text="x")
        assert refused.value.details["reason"] == reason, message_id
    await platform.ask("message.revoke", tenant_id=TENANT, message_id="m_old", session_id=None)  # no window for that
    await platform.status(sid, "DISCONNECTED")
    with pytest.raises(RemoteError) as refused:
        await platform.ask("message.revoke", tenant_id=TENANT, message_id="m_old", session_id=None)
    assert refused.value.details["reason"] == "session_not_connected"


async def test_a_chat_read_or_presence_goes_to_the_sessions_worker_or_is_refused(platform):
    sid = await platform.connected()
    read = await platform.ask("session.read_chat", tenant_id=TENANT, session_id=sid, chat="628123456789")
    assert read == {"session_id": sid, "action": "read", "chat": "628123456789@s.whatsapp.net", "presence": None}
    await platform.ask("session.presence", tenant_id=TENANT, session_id=sid, presence="available", chat=None)
    assert [(e.type, e.data) for e in platform.broker.to_worker("worker-1")[-2:]] == [
        ("worker.chat.read", {"session_id": sid, "chat": "628123456789@s.whatsapp.net"}),
        ("worker.chat.presence", {"session_id": sid, "presence": "available", "chat": None})]
    with pytest.raises(RemoteError) as refused:
        await platform.ask("session.read_chat", tenant_id=OTHER, session_id=sid, chat="628123456789")
    assert refused.value.code == "not_found"
    await platform.status(sid, "DISCONNECTED")
    with pytest.raises(RemoteError) as refused:
        await platform.ask("session.read_chat", tenant_id=TENANT, session_id=sid, chat="628123456789")
    assert refused.value.details == {"reason": "session_not_connected", "status": "DISCONNECTED"}


async def test_a_vote_in_a_poll_the_session_sent_names_the_poll_by_its_history_id(platform):
    sid = await platform.connected()
    await platform.send(sid, "m_poll", type="poll", text=None,
                        poll={"name": "Lunch?", "options": ["Soto", "Rendang"], "selectable_count": 1})
    [command] = platform.to_worker("worker-1", "worker.message.send")
    assert command["poll"]["options"] == ["Soto", "Rendang"] and "media" not in command
    await platform.report("worker-1", "worker.message.status", **_status(sid, "m_poll", "sent",
                                                                         wa_message_id="WA-POLL"))
    await platform.report("worker-1", "worker.message.inbound", **_inbound(
        sid, "WA-VOTE", type="poll_vote", poll_vote={"wa_message_id": "WA-POLL", "options": ["Soto"]}))
    [vote] = platform.events("message.received")
    assert vote["type"] == "poll_vote" and vote["poll_vote"] == {"message_id": "m_poll", "options": ["Soto"]}


async def test_chats_come_from_history_latest_first_with_unread_counts_until_marked_read(platform):
    sid = await platform.connected()
    friend = "628122223333@s.whatsapp.net"
    await platform.report("worker-1", "worker.message.inbound", **_inbound(sid, "WA1", text="one", chat=friend))
    first = await platform.message(inbound_message_id(sid, "WA1"))
    await platform.change_message(first["_id"], created_at=first["created_at"] - timedelta(seconds=1))
    await platform.report("worker-1", "worker.message.inbound", **_inbound(sid, "WA2", text="two", chat=friend))
    await platform.send(sid, "m_other")  # to 628111222333, after them
    other = await platform.message("m_other")
    await platform.change_message("m_other", created_at=other["created_at"] + timedelta(seconds=1))

    async def chats(limit=50, tenant=TENANT):
        return (await platform.ask("message.chats", tenant_id=tenant, session_id=sid, limit=limit))["chats"]

    assert [(c["chat"], c["unread"], c["last_message"]["text"]) for c in await chats()] == [
        ("628111222333@s.whatsapp.net", 0, "Hi"), (friend, 2, "two")]
    await platform.ask("session.read_chat", tenant_id=TENANT, session_id=sid, chat=friend)
    assert len(await chats(limit=1)) == 1
    assert (await chats())[1]["unread"] == 0
    with pytest.raises(RemoteError) as refused:
        await chats(tenant=OTHER)
    assert refused.value.code == "not_found"
