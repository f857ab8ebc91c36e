"""The stores against the real local MongoDB-compatible server (FerretDB here, MongoDB in production):
every operation the orchestrator uses, the atomic session limit under concurrency, and the outbox."""

import asyncio
import os
import secrets
from datetime import datetime, timedelta, timezone

import pytest
import pytest_asyncio

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import Envelope
from wagw_common.errors import LimitExceeded
from wagw_common.outbox import OutboxRelay
from wagw_session_orchestrator import events, session_commands
from wagw_session_orchestrator.messages_store import MessagesStore
from wagw_session_orchestrator.session_change import change_session
from wagw_session_orchestrator.sessions_store import SessionsStore

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


@pytest_asyncio.fixture
async def sessions_store(db):
    store = SessionsStore(db)
    await store.ensure_indexes()
    return store


@pytest_asyncio.fixture
async def messages_store(db):
    store = MessagesStore(db)
    await store.ensure_indexes()
    return store


@pytest.mark.parametrize("limit", [1, 5])
async def test_session_limit_holds_under_20_concurrent_reservations(sessions_store, limit):
    # The counter does not exist yet: the first creates race on creating it as well.
    results = await asyncio.gather(*(sessions_store.reserve_slot("u_race", limit) for _ in range(20)))
    assert results.count(True) == limit
    assert (await sessions_store.counters.find_one({"_id": "u_race"}))["count"] == limit
    await sessions_store.release_slot("u_race")
    assert await sessions_store.reserve_slot("u_race", limit) is True
    assert await sessions_store.reserve_slot("u_race", limit) is False


async def test_20_concurrent_creates_make_exactly_limit_sessions_and_publish_their_events(sessions_store, broker,
                                                                                       deps):
    async def create():
        envelope = Envelope(type="session.create", source="test",
                            data={"tenant_id": "u_t", "name": "n", "description": "", "session_limit": 3})
        try:
            return await session_commands.when_session_create_requested_create_it(envelope, deps)
        except LimitExceeded:
            return None

    created = [view for view in await asyncio.gather(*(create() for _ in range(20))) if view]
    assert len(created) == 3
    stored = await sessions_store.list_for_tenant("u_t")
    assert sorted(s["_id"] for s in stored) == sorted(v["session_id"] for v in created)
    assert all("outbox" not in s for s in stored)  # the projection hides it...
    raw = await sessions_store.collection.find({"tenant_id": "u_t"}).to_list(None)
    assert all(doc["outbox"] == [] for doc in raw)  # ...and the flush pulled every published event
    assert sum(1 for _, key, _ in _sent(broker) if key == "session.created") == 3


def _sent(broker):
    """What the in-memory broker was asked to publish: (exchange, routing key, envelope)."""
    return [(p.exchange, p.routing_key, p.envelope) for p in broker.published]


async def _session(store, session_id="s_1", status="DISCONNECTED", worker_id=None):
    doc = {"_id": session_id, "tenant_id": "u_t", "name": "n", "description": "", "status": status,
           "worker_id": worker_id, "qr": None, "qr_expires_at": None, "phone": None, "sequence": 1,
           "created_at": T0, "updated_at": T0}
    await store.insert({**doc, "outbox": []})
    return doc


async def test_compare_and_set_writes_state_and_events_together_and_the_relay_publishes_leftovers(
        sessions_store, broker):
    seen = await _session(sessions_store)
    entry = events.session_status_changed(broker, seen, previous="DISCONNECTED", status=SessionStatus.CONNECTING,
                                          worker_id="worker-1", reason=None, sequence=2)
    written = await sessions_store.apply(seen, {"status": SessionStatus.CONNECTING, "worker_id": "worker-1"}, [entry])
    assert written["status"] == SessionStatus.CONNECTING and written["sequence"] == 2 and "outbox" not in written
    assert await sessions_store.apply(seen, {"status": "ERROR"}, []) is None  # stale read: refused

    raw = await sessions_store.collection.find_one({"_id": "s_1"})
    assert [e["id"] for e in raw["outbox"]] == [entry["id"]]
    relay = OutboxRelay(sessions_store.collection, broker)
    assert await relay.relay_stale(older_than=timedelta(hours=1)) == 0  # not stale yet
    assert await relay.relay_stale(older_than=timedelta(0)) == 1
    assert (await sessions_store.collection.find_one({"_id": "s_1"}))["outbox"] == []
    [(exchange, key, envelope)] = _sent(broker)
    assert (exchange, key, envelope.id) == ("wagw.events", "session.status_changed", entry["id"])


async def test_concurrent_changes_of_one_session_are_serialised_by_sequence(sessions_store, broker):
    await _session(sessions_store, status=SessionStatus.CONNECTING, worker_id="worker-1")
    relay = OutboxRelay(sessions_store.collection, broker)

    def show_qr(n):
        def decide(session, change):
            if session["status"] != SessionStatus.QR_REQUIRED:
                change.move_to(SessionStatus.QR_REQUIRED)
            return change.show_qr(f"qr-{n}", T0)
        return decide

    await asyncio.gather(*(change_session(sessions_store, relay, broker, "s_1", show_qr(n), attempts=30)
                           for n in range(8)))
    sequences = sorted(e.data["sequence"] for _, _, e in _sent(broker))
    assert sequences == list(range(2, 2 + 9))  # one status change + eight QR codes, no gaps, no repeats
    assert (await sessions_store.get("s_1"))["sequence"] == 10


async def test_lookups_are_tenant_scoped(sessions_store):
    await _session(sessions_store, worker_id="worker-9")
    assert (await sessions_store.get_for_tenant("u_t", "s_1"))["_id"] == "s_1"
    assert await sessions_store.get_for_tenant("u_other", "s_1") is None
    assert await sessions_store.list_for_tenant("u_other") == []
    assert await sessions_store.worker_of("s_1") == "worker-9"
    assert await sessions_store.worker_of("s_missing") is None


def _message(message_id, created_at, status="queued"):
    return {"_id": message_id, "session_id": "s_1", "tenant_id": "u_t", "direction": "outbound",
            "chat": "62811@s.whatsapp.net", "type": "text", "text": "hi", "status": status,
            "timeline": [{"status": "queued", "at": created_at, "reason": None}], "created_at": created_at}


async def test_message_insert_is_idempotent_and_status_only_moves_forward(messages_store, broker):
    message = _message("m_1", T0)
    assert await messages_store.insert({**message, "outbox": []}) is True
    assert await messages_store.insert({**message, "outbox": []}) is False

    def report(status):
        entry = events.message_status(broker, message, status=status, at=T0)
        return messages_store.advance(message, status, {"status": status, "at": T0, "reason": None}, entry)

    assert (await report("read"))["status"] == "read"
    assert await report("delivered") is None
    assert await report("failed") is None
    stored = await messages_store.collection.find_one({"_id": "m_1"})
    assert [s["status"] for s in stored["timeline"]] == ["queued", "read"]
    assert [e["type"] for e in stored["outbox"]] == ["message.read"]
    relay = OutboxRelay(messages_store.collection, broker)
    await relay.flush("m_1", stored["outbox"])
    assert (await messages_store.collection.find_one({"_id": "m_1"}))["outbox"] == []


async def test_a_step_reported_by_a_worker_advances_only_a_message_handed_to_it(messages_store, broker):
    """The one-round-trip report path puts the worker check in the update's filter; a message handed
    to no worker takes the full path, which asks whose the session is."""
    step = {"status": "sent", "at": T0, "reason": None}
    for message_id, routed_to in (("m_none", None), ("m_w1", "worker-1"), ("m_w2", "worker-2")):
        await messages_store.insert({**_message(message_id, T0), "routed_to": routed_to, "outbox": []})
    entry = lambda m: events.message_status(broker, m, status="sent", at=T0)  # noqa: E731
    for message_id, moved in (("m_none", False), ("m_w1", True), ("m_w2", False)):
        message = _message(message_id, T0)
        written = await messages_store.advance(message, "sent", step, entry(message), reported_by="worker-1")
        assert (written is not None) is moved, message_id
    assert (await messages_store.get("m_w2"))["status"] == "queued"


async def test_history_pages_newest_first_across_equal_timestamps(messages_store):
    # Five messages share one millisecond: the id breaks the tie, so no page repeats or skips one.
    times = [T0 + timedelta(seconds=i // 5) for i in range(12)]
    for i, at in enumerate(times):
        await messages_store.insert({**_message(f"m_{i:02d}", at), "outbox": []})
    await messages_store.insert({**_message("m_other", T0), "tenant_id": "u_other", "outbox": []})
    seen, cursor = [], None
    while True:
        page, cursor = await messages_store.page("u_t", "s_1", limit=5, before=cursor)
        assert all("outbox" not in m for m in page)
        seen.extend(m["_id"] for m in page)
        if cursor is None:
            break
    expected = [m for _, m in sorted(((at, f"m_{i:02d}") for i, at in enumerate(times)), reverse=True)]
    assert seen == expected
    assert await messages_store.get_for_tenant("u_other", "m_00") is None


async def test_held_messages_are_found_oldest_first_and_claimed_once_per_worker(messages_store):
    # routed_to: missing (older documents), None (held), the dead worker, the new worker.
    await messages_store.insert({**_message("m_a", T0), "outbox": []})
    await messages_store.insert({**_message("m_b", T0 + timedelta(seconds=1)), "routed_to": None, "outbox": []})
    await messages_store.insert({**_message("m_c", T0 + timedelta(seconds=2)), "routed_to": "w-dead", "outbox": []})
    await messages_store.insert({**_message("m_d", T0 + timedelta(seconds=3)), "routed_to": "w-new", "outbox": []})
    await messages_store.insert({**_message("m_e", T0 + timedelta(seconds=4), status="sent"), "outbox": []})
    assert await messages_store.count_held("s_1") == 2  # m_a, m_b: handed to nobody
    waiting = await messages_store.waiting_for("s_1", "w-new")
    assert [m["_id"] for m in waiting] == ["m_a", "m_b", "m_c"]
    claims = await asyncio.gather(*(messages_store.claim_route("m_c", "w-new") for _ in range(10)))
    assert claims.count(True) == 1
    assert [m["_id"] for m in await messages_store.waiting_for("s_1", "w-new")] == ["m_a", "m_b"]
    assert await messages_store.delete_for_session("s_1") == 5


async def test_a_bounced_message_is_taken_back_once_and_never_from_a_rerouted_hand_over(messages_store):
    await messages_store.insert({**_message("m_1", T0), "routed_to": "w-1", "outbox": []})  # no `rerouted` yet
    assert not await messages_store.unroute("m_1", "w-2")  # not handed to w-2
    assert await messages_store.unroute("m_1", "w-1")
    assert not await messages_store.unroute("m_1", "w-1")  # the same bounce again
    assert (await messages_store.get("m_1"))["routed_to"] is None
    assert await messages_store.claim_route("m_1", "w-1", rerouted=True)
    assert not await messages_store.unroute("m_1", "w-1")  # a rerouted hand-over is never bounced
    assert await messages_store.claim_route("m_1", "w-2")  # a later ordinary hand-over (a failover) may be
    assert await messages_store.unroute("m_1", "w-2")


async def test_history_filters_combine_with_the_cursor(messages_store):
    for i in range(10):
        message = _message(f"m_{i}", T0 + timedelta(seconds=i), status="read" if i % 2 else "queued")
        if i >= 5:
            message.update(direction="inbound", chat="62822@s.whatsapp.net")
        await messages_store.insert({**message, "outbox": []})
    page, cursor = await messages_store.page("u_t", "s_1", limit=2, before=None, filters={"direction": "outbound"})
    assert [m["_id"] for m in page] == ["m_4", "m_3"]
    page, cursor = await messages_store.page("u_t", "s_1", limit=2, before=cursor, filters={"direction": "outbound"})
    assert [m["_id"] for m in page] == ["m_2", "m_1"]
    window = {"since": T0 + timedelta(seconds=2), "until": T0 + timedelta(seconds=7), "status": "read"}
    page, cursor = await messages_store.page("u_t", "s_1", limit=10, before=None, filters=window)
    assert [m["_id"] for m in page] == ["m_5", "m_3"] and cursor is None
    page, _ = await messages_store.page("u_t", "s_1", limit=1, before=None,
                                        filters={**window, "chat": "62822@s.whatsapp.net"})
    assert [m["_id"] for m in page] == ["m_5"]


async def test_a_deleted_sessions_slot_is_released_once_and_sessions_are_found_by_worker(sessions_store):
    base = {"tenant_id": "u_t", "name": "x", "description": "", "qr": None, "qr_expires_at": None, "phone": None,
            "sequence": 1, "created_at": T0, "updated_at": T0}
    await sessions_store.insert({**base, "_id": "s_gone", "status": "DELETED", "worker_id": None})
    await sessions_store.insert({**base, "_id": "s_on", "status": "CONNECTED", "worker_id": "w-1"})
    await sessions_store.insert({**base, "_id": "s_moving", "status": "RECONNECTING", "worker_id": "w-2",
                                 "moved_from": "w-1"})
    await sessions_store.insert({**base, "_id": "s_moved", "status": "CONNECTED", "worker_id": "w-2",
                                 "moved_from": None})
    claims = await asyncio.gather(*(sessions_store.claim_slot_release("s_gone") for _ in range(10)))
    assert claims.count(True) == 1
    assert await sessions_store.claim_slot_release("s_on") is False
    assert sorted(s["_id"] for s in await sessions_store.live_on_worker("w-1")) == ["s_moving", "s_on"]
    await sessions_store.insert({**base, "_id": "s_waiting", "status": "RECONNECTING", "worker_id": None,
                                 "moved_from": "w-1"})
    assert [s["_id"] for s in await sessions_store.waiting_for_a_worker()] == ["s_waiting"]


async def test_the_retention_sweep_deletes_only_older_messages(messages_store):
    for i in range(4):
        await messages_store.insert({**_message(f"m_{i}", T0 + timedelta(days=i)), "outbox": []})
    assert await messages_store.delete_older_than(T0 + timedelta(days=2)) == 2
    assert sorted([m["_id"] async for m in messages_store.collection.find({})]) == ["m_2", "m_3"]


async def test_held_sends_past_their_age_expire_once_and_never_when_a_release_won(messages_store, broker):
    from wagw_session_orchestrator import clock, held_expiry

    now = clock.now()
    old, young = now - timedelta(hours=2), now - timedelta(seconds=10)
    await messages_store.insert({**_message("m_old", old), "routed_to": None, "outbox": []})
    await messages_store.insert({**_message("m_claimed", old), "routed_to": None, "outbox": []})
    await messages_store.insert({**_message("m_routed", old), "routed_to": "w-1", "outbox": []})  # the worker's now
    await messages_store.insert({**_message("m_young", young), "routed_to": None, "outbox": []})
    assert await messages_store.claim_route("m_claimed", "w-2")  # a release got there first
    relay = OutboxRelay(messages_store.collection, broker)
    sweeps = await asyncio.gather(*(held_expiry.expire_held(messages_store, relay, broker, max_age=3600)
                                    for _ in range(5)))
    assert sum(sweeps) == 1
    expired = await messages_store.get("m_old")
    assert expired["status"] == "failed" and expired["timeline"][-1]["reason"] == "expired"
    assert [(await messages_store.get(m))["status"] for m in ("m_claimed", "m_routed", "m_young")] == ["queued"] * 3
    failed = [e for _, _, e in _sent(broker) if e.type == "message.failed"]
    assert [(e.data["message_id"], e.data["reason"]) for e in failed] == [("m_old", "expired")]
    assert not await messages_store.claim_route("m_old", "w-2")  # an expired message is never sent


async def test_every_status_change_lands_in_the_status_cache_newest_sequence_first(db, broker):
    from redis.asyncio import Redis
    from wagw_common import session_status

    redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    try:
        await redis.ping()
    except Exception as exc:
        pytest.skip(f"no Redis: {exc}")
    store = SessionsStore(db, redis)
    session_id = f"s_{secrets.token_hex(6)}"
    base = {"_id": session_id, "tenant_id": "u_t", "name": "x", "description": "", "status": "DISCONNECTED",
            "worker_id": None, "qr": None, "qr_expires_at": None, "phone": None, "sequence": 1,
            "created_at": T0, "updated_at": T0}
    try:
        await store.insert(base)
        assert await session_status.read(redis, session_id) == "DISCONNECTED"
        relay = OutboxRelay(store.collection, broker)
        await change_session(store, relay, broker, session_id, lambda s, c: c.move_to(SessionStatus.CONNECTING))
        assert await session_status.read(redis, session_id) == "CONNECTING"
        await session_status.record(redis, session_id, "DISCONNECTED", 1)  # a late, older write loses
        assert await session_status.read(redis, session_id) == "CONNECTING"
        await change_session(store, relay, broker, session_id, lambda s, c: c.set(qr="x"))  # no status change
        await change_session(store, relay, broker, session_id, lambda s, c: c.move_to(SessionStatus.QR_REQUIRED))
        assert await session_status.read(redis, session_id) == "QR_REQUIRED"
    finally:
        await redis.delete(session_status.status_key(session_id))
        await redis.aclose()


async def test_edits_apply_newest_only_and_a_deletion_is_marked_once(messages_store, broker):
    # Documents stored before edits existed have neither edited_at nor deleted_at: the guards must match both.
    await messages_store.insert({**_message("m_in", T0), "direction": "inbound", "wa_message_id": "WA1", "outbox": []})
    message = await messages_store.find_by_wa_id("s_1", "WA1")
    assert message["_id"] == "m_in" and await messages_store.find_by_wa_id("s_2", "WA1") is None

    def edit(text, at):
        entry = events.message_changed(broker, message, "edited", at=at, text=text)
        return messages_store.record_edit(message, text, at, entry)

    assert (await edit("second", T0 + timedelta(seconds=2)))["text"] == "second"
    assert await edit("first", T0 + timedelta(seconds=1)) is None  # reported late: the newer text stays
    assert await edit("second", T0 + timedelta(seconds=2)) is None  # reported twice
    deleted = events.message_changed(broker, message, "deleted", at=T0 + timedelta(seconds=3))
    assert (await messages_store.mark_deleted(message, T0 + timedelta(seconds=3), deleted))["deleted_at"] is not None
    assert await messages_store.mark_deleted(message, T0 + timedelta(seconds=4), deleted) is None
    assert await edit("third", T0 + timedelta(seconds=5)) is None  # made after the deletion
    # Made before the deletion but reported after it (the uplink applies reports concurrently): kept.
    assert (await edit("last words", T0 + timedelta(seconds=2, milliseconds=500)))["text"] == "last words"
    stored = await messages_store.collection.find_one({"_id": "m_in"})
    assert stored["text"] == "last words" and [e["type"] for e in stored["outbox"]] == [
        "message.edited", "message.deleted", "message.edited"]


async def test_whatsapps_id_of_a_sent_message_is_kept_from_the_step_that_reports_it(messages_store, broker):
    message = _message("m_out", T0)
    await messages_store.insert({**message, "outbox": []})

    def step(status, wa_message_id=None):
        entry = events.message_status(broker, message, status=status, at=T0)
        return messages_store.advance(message, status, {"status": status, "at": T0, "reason": None}, entry,
                                      wa_message_id=wa_message_id)

    await step("sent", "WA-OUT")
    await step("delivered")  # says nothing of it: it stays
    assert (await messages_store.find_by_wa_id("s_1", "WA-OUT"))["_id"] == "m_out"


async def test_chats_are_found_newest_first_and_unread_counted_until_marked_read(messages_store):
    for i, (chat, direction) in enumerate((("62811@s.whatsapp.net", "inbound"), ("62822@s.whatsapp.net", "inbound"),
                                           ("62811@s.whatsapp.net", "inbound"), ("62833@s.whatsapp.net", "outbound"))):
        await messages_store.insert({**_message(f"m_{i}", T0 + timedelta(seconds=i)), "chat": chat,
                                     "direction": direction, "outbox": []})
    latest = await messages_store.recent_chats("u_t", "s_1", limit=50)
    assert [(m["chat"], m["_id"]) for m in latest] == [
        ("62833@s.whatsapp.net", "m_3"), ("62811@s.whatsapp.net", "m_2"), ("62822@s.whatsapp.net", "m_1")]
    assert [m["chat"] for m in await messages_store.recent_chats("u_t", "s_1", limit=2)] == [
        "62833@s.whatsapp.net", "62811@s.whatsapp.net"]
    assert await messages_store.recent_chats("u_other", "s_1", limit=50) == []
    chats = [m["chat"] for m in latest]
    assert await messages_store.unread_by_chat("s_1", chats) == {"62811@s.whatsapp.net": 2, "62822@s.whatsapp.net": 1}
    assert await messages_store.mark_chat_read("s_1", "62811@s.whatsapp.net", T0) == 2
    assert await messages_store.unread_by_chat("s_1", chats) == {"62822@s.whatsapp.net": 1}
