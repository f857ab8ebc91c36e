"""Paced sends against the real local MongoDB-compatible server: the slot reservation's compare-and-set
under concurrency and redelivery, and a paced send's way from the send command to its worker (held
with `paced_until`, released a gap after the previous hand-off, skipped by the release after a
failover, refused beyond the day's warm-up limit)."""

import asyncio
from datetime import timedelta
from itertools import pairwise

import pytest
import pytest_asyncio

from wagw_common.envelope import Envelope
from wagw_session_orchestrator import clock, message_commands, pacing
from wagw_session_orchestrator.message_routing import release_held
from wagw_session_orchestrator.messages_store import MessagesStore
from wagw_session_orchestrator.paced_release import release_due
from wagw_session_orchestrator.pacing_slots import PacingSlots
from wagw_session_orchestrator.routing import SessionRoutes
from wagw_session_orchestrator.sessions_store import SessionsStore

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

TENANT = "u_t"


@pytest_asyncio.fixture
async def stores(db):
    sessions, messages, slots = SessionsStore(db), MessagesStore(db), PacingSlots(db)
    await messages.ensure_indexes()
    await slots.ensure_indexes()
    return sessions, messages, slots


async def _paced_session(sessions, policy, *, session_id="s_1", status="CONNECTED", worker_id="worker-1"):
    now = clock.now()
    await sessions.insert({"_id": session_id, "tenant_id": TENANT, "name": "n", "description": "",
                           "status": status, "worker_id": worker_id, "sequence": 1, "created_at": now,
                           "updated_at": now, "outbox": [],
                           "pacing": pacing.policy_to_store(policy, None, now)})


async def test_20_concurrent_reservations_get_20_distinct_slots_a_gap_apart(stores):
    sessions, _, slots = stores
    await _paced_session(sessions, {"min_gap_seconds": 5.0, "jitter_seconds": 0.0, "warmup": None})
    now = clock.now()
    taken = await asyncio.gather(*(slots.reserve("s_1", f"m{n}", now) for n in range(20)))
    ordered = sorted(outcome.slot for outcome in taken)
    assert ordered[0] == now
    assert [b - a for a, b in pairwise(ordered)] == [timedelta(seconds=5)] * 19
    state = (await sessions.collection.find_one({"_id": "s_1"}))["pacing_state"]
    assert state["version"] == 20 and state["sent_today"] == 20


async def test_a_redelivered_reservation_gets_the_same_slot_and_the_daily_limit_refuses_the_rest(stores):
    sessions, _, slots = stores
    await _paced_session(sessions, {"min_gap_seconds": 1.0, "jitter_seconds": 0.0,
                                    "warmup": {"first_day_limit": 2, "daily_increase": 1, "days": 5}})
    now = clock.now()
    first = await slots.reserve("s_1", "m1", now)
    assert (await slots.reserve("s_1", "m1", now)).slot == first.slot
    await slots.reserve("s_1", "m2", now)
    assert await slots.reserve("s_1", "m3", now) == pacing.DAILY_LIMIT_REACHED
    assert (await sessions.collection.find_one({"_id": "s_1"}))["pacing_state"]["sent_today"] == 2


async def test_a_hand_off_only_moves_the_last_hand_off_forward_and_reservations_keep_it(stores):
    sessions, _, slots = stores
    await _paced_session(sessions, {"min_gap_seconds": 10.0, "jitter_seconds": 0.0, "warmup": None})
    now = clock.now()
    await slots.record_handed("s_1", now)
    await slots.record_handed("s_1", now - timedelta(seconds=3))  # an older one arriving late
    outcome = await slots.reserve("s_1", "m1", now)
    assert outcome.slot == now + timedelta(seconds=10)
    assert (await sessions.collection.find_one({"_id": "s_1"}))["pacing_state"]["last_handed_at"] == now


def _send(message_id, text="hi"):
    return Envelope(type="message.send", source="test", subject=message_id,
                    data={"tenant_id": TENANT, "session_id": "s_1", "message_id": message_id, "to": "628123456789",
                          "type": "text", "text": text, "queue": False})


async def _deliver(stores, broker, relay, envelope):
    sessions, messages, slots = stores
    await message_commands.when_send_requested_store_and_route_it(
        envelope, sessions=sessions, messages=messages, relay=relay, broker=broker,
        routes=SessionRoutes(None, sessions, ttl_seconds=60), queue_limit=10, pacing=slots)


async def test_paced_sends_wait_for_their_slot_go_in_order_a_gap_apart_and_only_once(stores, broker, relay):
    sessions, messages, slots = stores
    await _paced_session(sessions, {"min_gap_seconds": 0.6, "jitter_seconds": 0.0, "warmup": None})
    for number in range(3):
        await _deliver(stores, broker, relay, _send(f"m{number}", f"text {number}"))
    await _deliver(stores, broker, relay, _send("m1", "text 1"))  # a redelivery: the same slot, not a new one
    assert broker.to_worker("worker-1") == []  # stored held, each with its slot
    stored = [await messages.get(f"m{n}") for n in range(3)]
    assert all(m["status"] == "queued" and m["routed_to"] is None for m in stored)
    assert stored[2]["paced_until"] - stored[0]["paced_until"] == timedelta(seconds=1.2)
    # The release after a failover leaves them to their slots.
    assert await release_held("s_1", "worker-1", messages=messages, relay=relay, broker=broker) == 0

    handed_at = []
    deadline = clock.now() + timedelta(seconds=10)
    while len(handed_at) < 3 and clock.now() < deadline:
        if await release_due(slots, sessions, messages, relay, broker):
            handed_at.append(clock.now())
        await asyncio.sleep(0.05)
    assert [e.data["text"] for e in broker.to_worker("worker-1")] == ["text 0", "text 1", "text 2"]
    assert all(b - a >= timedelta(seconds=0.6) for a, b in pairwise(handed_at))
    assert await release_due(slots, sessions, messages, relay, broker) == 0  # nothing sent twice
    assert await slots.waiting("s_1") == 0


async def test_a_paced_session_not_connected_keeps_its_sends_until_it_is_back(stores, broker, relay):
    sessions, messages, slots = stores
    await _paced_session(sessions, {"min_gap_seconds": 0.1, "jitter_seconds": 0.0, "warmup": None},
                         status="RECONNECTING", worker_id=None)
    await _deliver(stores, broker, relay, _send("m0"))
    await asyncio.sleep(0.15)
    assert await release_due(slots, sessions, messages, relay, broker) == 0
    assert await slots.waiting("s_1") == 1
    await sessions.collection.update_one({"_id": "s_1"}, {"$set": {"status": "CONNECTED", "worker_id": "worker-2"}})
    assert await release_due(slots, sessions, messages, relay, broker) == 1
    assert [e.data["message_id"] for e in broker.to_worker("worker-2")] == ["m0"]


async def test_a_send_beyond_the_days_warmup_limit_fails_with_the_reason(stores, broker, relay):
    sessions, messages, _ = stores
    await _paced_session(sessions, {"min_gap_seconds": 0.0, "jitter_seconds": 0.5,
                                    "warmup": {"first_day_limit": 1, "daily_increase": 1, "days": 2}})
    await _deliver(stores, broker, relay, _send("m0"))
    await _deliver(stores, broker, relay, _send("m1"))
    refused = await messages.get("m1")
    assert refused["status"] == "failed" and refused["timeline"][-1]["reason"] == pacing.DAILY_LIMIT_REACHED
    assert (await messages.get("m0"))["status"] == "queued"


async def test_after_a_failover_a_paced_send_lost_with_its_worker_goes_again_only_through_its_slot(stores, broker,
                                                                                                     relay):
    sessions, messages, slots = stores
    await _paced_session(sessions, {"min_gap_seconds": 30.0, "jitter_seconds": 0.0, "warmup": None})
    await _deliver(stores, broker, relay, _send("m0"))
    await _deliver(stores, broker, relay, _send("m1"))  # its slot is 30 s on
    assert await release_due(slots, sessions, messages, relay, broker) == 1  # m0 to worker-1, which then dies
    await sessions.collection.update_one({"_id": "s_1"}, {"$set": {"worker_id": "worker-2"}})
    # The release on the new worker sends neither: m0 waits a gap after its first hand-off, m1 its slot.
    assert await release_held("s_1", "worker-2", messages=messages, relay=relay, broker=broker) == 0
    assert (await messages.get("m0"))["routed_to"] is None
    assert await release_due(slots, sessions, messages, relay, broker) == 0
    assert broker.to_worker("worker-2") == []
    # A gap on (moved back here rather than waited for), m0 goes again, to the new worker, once.
    state = (await sessions.collection.find_one({"_id": "s_1"}))["pacing_state"]
    await sessions.collection.update_one({"_id": "s_1"}, {"$set": {
        "pacing_state.last_handed_at": state["last_handed_at"] - timedelta(seconds=30)}})
    assert await release_due(slots, sessions, messages, relay, broker) == 1
    assert [e.data["message_id"] for e in broker.to_worker("worker-2")] == ["m0"]
