"""Paced sends against the real local MongoDB-compatible server: the slot reservation's compare-and-set
under concurrency and redelivery, and a paced send's way from the send command to its worker (held
with `paced_until`, released a gap after the previous hand-off, skipped by the release after a
failover, refused beyond the day's warm-up limit), the policy set and shown through the orchestrator."""

import asyncio
from datetime import timedelta
from itertools import pairwise

import pytest

from wagw_common.envelope import MalformedMessage
from wagw_session_orchestrator import clock, pacing
from wagw_session_orchestrator.message_routing import release_held
from wagw_session_orchestrator.paced_release import release_due

from .conftest import TENANT

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]


def _policy(gap: float, jitter: float = 0.0, warmup: dict | None = None) -> dict:
    return {"min_gap_seconds": gap, "jitter_seconds": jitter, "warmup": warmup}


async def _paced(platform, policy: dict, worker_id: str = "worker-1") -> str:
    session_id = await platform.connected(worker_id)
    view = await platform.ask("session.update", tenant_id=TENANT, session_id=session_id, pacing=policy)
    assert view["pacing"]["min_gap_seconds"] == policy["min_gap_seconds"]
    return session_id


async def test_20_concurrent_reservations_get_20_distinct_slots_a_gap_apart(platform, deps):
    session_id = await _paced(platform, _policy(5.0))
    now = clock.now()
    taken = await asyncio.gather(*(deps.pacing.reserve(session_id, f"m{n}", now) for n in range(20)))
    ordered = sorted(outcome.slot for outcome in taken)
    assert ordered[0] == now
    assert [b - a for a, b in pairwise(ordered)] == [timedelta(seconds=5)] * 19
    state = (await deps.sessions.collection.find_one({"_id": session_id}))["pacing_state"]
    assert state["version"] == 20 and state["sent_today"] == 20


async def test_a_redelivered_reservation_gets_the_same_slot_and_the_daily_limit_refuses_the_rest(platform, deps):
    session_id = await _paced(platform, _policy(1.0, warmup={"first_day_limit": 2, "daily_increase": 1, "days": 5}))
    now = clock.now()
    first = await deps.pacing.reserve(session_id, "m1", now)
    assert (await deps.pacing.reserve(session_id, "m1", now)).slot == first.slot
    await deps.pacing.reserve(session_id, "m2", now)
    assert await deps.pacing.reserve(session_id, "m3", now) == pacing.DAILY_LIMIT_REACHED
    assert (await deps.sessions.collection.find_one({"_id": session_id}))["pacing_state"]["sent_today"] == 2


async def test_a_hand_off_only_moves_the_last_hand_off_forward_and_reservations_keep_it(platform, deps):
    session_id = await _paced(platform, _policy(10.0))
    now = clock.now()
    await deps.pacing.record_handed(session_id, now)
    await deps.pacing.record_handed(session_id, now - timedelta(seconds=3))  # an older one arriving late
    outcome = await deps.pacing.reserve(session_id, "m1", now)
    assert outcome.slot == now + timedelta(seconds=10)
    assert (await deps.sessions.collection.find_one({"_id": session_id}))["pacing_state"]["last_handed_at"] == now


async def test_paced_sends_wait_for_their_slot_go_in_order_a_gap_apart_and_only_once(platform, deps):
    session_id = await _paced(platform, _policy(0.6))
    for number in range(3):
        await platform.send(session_id, f"m{number}", text=f"text {number}")
    await platform.send(session_id, "m1", text="text 1")  # a redelivery: the same slot, not a new one
    assert platform.to_worker("worker-1", "worker.message.send") == []  # stored held, each with its slot
    stored = [await platform.message(f"m{n}") for n in range(3)]
    assert all(m["status"] == "queued" and m["routed_to"] is None for m in stored)
    assert stored[2]["paced_until"] - stored[0]["paced_until"] == timedelta(seconds=1.2)
    shown = await platform.ask("session.get", tenant_id=TENANT, session_id=session_id)
    assert shown["pacing"]["usage"]["waiting"] == 3 and shown["pacing"]["usage"]["sent_today"] == 3
    # The release after a failover leaves them to their slots.
    assert await release_held(session_id, "worker-1", messages=deps.messages, relay=deps.message_relay,
                              broker=deps.broker) == 0

    handed_at = []
    deadline = clock.now() + timedelta(seconds=10)
    while len(handed_at) < 3 and clock.now() < deadline:
        if await release_due(deps):
            handed_at.append(clock.now())
        await asyncio.sleep(0.05)
    sent = platform.to_worker("worker-1", "worker.message.send")
    assert [command["text"] for command in sent] == ["text 0", "text 1", "text 2"]
    assert all(b - a >= timedelta(seconds=0.6) for a, b in pairwise(handed_at))
    assert await release_due(deps) == 0  # nothing sent twice
    assert await deps.pacing.waiting(session_id) == 0


async def test_a_paced_session_not_connected_keeps_its_sends_until_it_is_back(platform, deps):
    session_id = await _paced(platform, _policy(0.1))
    await platform.change_session(session_id, status="RECONNECTING", worker_id=None)
    await platform.send(session_id, "m0")
    await asyncio.sleep(0.15)
    assert await release_due(deps) == 0
    assert await deps.pacing.waiting(session_id) == 1
    await platform.change_session(session_id, status="CONNECTED", worker_id="worker-2")
    assert await release_due(deps) == 1
    assert [command["message_id"] for command in platform.to_worker("worker-2", "worker.message.send")] == ["m0"]


async def test_a_send_beyond_the_days_warmup_limit_fails_with_the_reason(platform):
    session_id = await _paced(platform, _policy(0.0, 0.5, {"first_day_limit": 1, "daily_increase": 1, "days": 2}))
    await platform.send(session_id, "m0")
    await platform.send(session_id, "m1")
    refused = await platform.message("m1")
    assert refused["status"] == "failed" and refused["timeline"][-1]["reason"] == pacing.DAILY_LIMIT_REACHED
    assert (await platform.message("m0"))["status"] == "queued"


async def test_after_a_failover_a_paced_send_lost_with_its_worker_goes_again_only_through_its_slot(platform, deps):
    session_id = await _paced(platform, _policy(30.0))
    await platform.send(session_id, "m0")
    await platform.send(session_id, "m1")  # its slot is 30 s on
    assert await release_due(deps) == 1  # m0 to worker-1, which then dies
    await platform.change_session(session_id, worker_id="worker-2")
    # The release on the new worker sends neither: m0 waits a gap after its first hand-off, m1 its slot.
    assert await release_held(session_id, "worker-2", messages=deps.messages, relay=deps.message_relay,
                              broker=deps.broker) == 0
    assert (await platform.message("m0"))["routed_to"] is None
    assert await release_due(deps) == 0
    assert platform.to_worker("worker-2", "worker.message.send") == []
    # A gap on (moved back here rather than waited for), m0 goes again, to the new worker, once.
    state = (await deps.sessions.collection.find_one({"_id": session_id}))["pacing_state"]
    await platform.change_session(session_id, **{"pacing_state.last_handed_at": state["last_handed_at"]
                                                 - timedelta(seconds=30)})
    assert await release_due(deps) == 1
    assert [command["message_id"] for command in platform.to_worker("worker-2", "worker.message.send")] == ["m0"]


async def test_pacing_is_set_changed_and_removed_with_the_update_and_nonsense_is_refused(platform):
    session_id = await platform.connected()
    with pytest.raises(MalformedMessage):  # the contract refuses it before it is published
        await platform.ask("session.update", tenant_id=TENANT, session_id=session_id, pacing={"min_gap_seconds": -1})
    await _paced(platform, _policy(2.0, warmup={"first_day_limit": 5, "daily_increase": 5, "days": 3}))
    listed = await platform.ask("session.list", tenant_id=TENANT)
    paced = [s for s in listed["sessions"] if s["pacing"]]
    assert len(paced) == 1 and paced[0]["pacing"]["usage"] == {
        "waiting": 0, "next_slot_at": paced[0]["pacing"]["usage"]["next_slot_at"],
        "day": clock.now().date().isoformat(), "sent_today": 0, "day_limit": 5}
    removed = await platform.ask("session.update", tenant_id=TENANT, session_id=paced[0]["session_id"], pacing=None)
    assert removed["pacing"] is None
    await platform.send(paced[0]["session_id"], "m_free")  # not paced any more: straight to the worker
    assert [c["message_id"] for c in platform.to_worker("worker-1", "worker.message.send")] == ["m_free"]
