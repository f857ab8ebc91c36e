"""The registry in-process against the local servers, with simulated workers speaking the real
protocol: registration, heartbeats, the offline timeout and return, several replicas, the outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from wagw_common.errors import RemoteError
from wagw_common.outbox import outbox_entry
from wagw_common.storage import utc_now
from wagw_worker_sdk import BrokerLink
from wagw_worker_sdk.uplink import WorkerUplink

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

HEARTBEAT, MISSED = 0.5, 6


async def session_count(observer, worker_id: str, expected: int) -> bool:
    return (await observer.workers()).get(worker_id, {}).get("session_count") == expected


async def test_a_registered_worker_is_listed_online_answered_and_chosen_within_its_capacity(
        start_registry, observer, start_worker, database):
    await start_registry()
    worker, _ = await start_worker(max_sessions=2)
    worker_id = worker.worker_id
    online = await observer.next_event("worker.online", worker_id)
    assert online == {"worker_id": worker_id, "state": "online", "reason": "registered", "session_ids": []}
    async with asyncio.timeout(5):
        await worker.assigned.wait()
    assert worker.restored == []

    listed = (await observer.workers())[worker_id]
    assert (listed["state"], listed["max_sessions"], listed["version"]) == ("online", 2, "test")
    assert listed["heartbeat_interval_seconds"] == HEARTBEAT and listed["score"] > 0.5
    assert worker_id in await observer.workers("online") and worker_id not in await observer.workers("offline")

    assert await observer.select("s_first") == worker_id
    assert await observer.select("s_first") == worker_id  # asked again: same worker, no second slot
    assert await observer.select("s_second") == worker_id
    with pytest.raises(RemoteError) as refused:
        await observer.select("s_third")  # two sessions assigned since the last heartbeat: full
    assert refused.value.code == "unavailable"

    stored = await database["workers"].find_one({"_id": worker_id})
    assert stored["outbox"] == []  # the event left the outbox once published


async def test_heartbeats_record_the_breakdown_and_resources(start_registry, observer, start_worker, wait_until):
    await start_registry()
    worker, whatsapp = await start_worker(max_sessions=5)
    await observer.next_event("worker.online", worker.worker_id)
    await whatsapp.start_session("s_connected", restore=True)
    await whatsapp.start_session("s_waiting", restore=False)  # shows a QR
    expected = {"connected": 1, "connecting": 0, "qr_required": 1, "disconnected": 0, "error": 0}

    async def breakdown_settled() -> bool:
        # A heartbeat may catch a session between connecting and its QR: wait for one that does not.
        detail = await observer.ask("worker.get", worker_id=worker.worker_id)
        return detail["breakdown"] == expected

    await wait_until(breakdown_settled)
    detail = await observer.ask("worker.get", worker_id=worker.worker_id)
    assert detail["breakdown"] == expected
    assert sorted(s["session_id"] for s in detail["sessions"]) == ["s_connected", "s_waiting"]
    assert detail["memory_mb"] > 0 and detail["cpu_percent"] is not None


async def test_a_silent_worker_goes_offline_once_and_its_next_heartbeat_brings_it_back(
        start_registry, observer, start_worker, wait_until):
    await start_registry()
    await start_registry()  # two replicas: only one of them may declare the worker offline
    worker, whatsapp = await start_worker()
    worker_id = worker.worker_id
    await observer.next_event("worker.online", worker_id)
    await whatsapp.start_session("s_restored", restore=True)
    await wait_until(lambda: session_count(observer, worker_id, 1))

    worker.pause_heartbeats()
    offline = await observer.next_event("worker.offline", worker_id, timeout=HEARTBEAT * MISSED + 5)
    assert offline == {"worker_id": worker_id, "state": "offline", "reason": "heartbeat timeout",
                       "session_ids": ["s_restored"]}
    assert (await observer.workers())[worker_id]["state"] == "offline"
    with pytest.raises(RemoteError):
        await observer.select("s_other")

    worker.resume_heartbeats()
    back = await observer.next_event("worker.online", worker_id)
    assert back == {"worker_id": worker_id, "state": "online", "reason": "heartbeat resumed",
                    "session_ids": ["s_restored"]}
    await asyncio.sleep(HEARTBEAT * 2)
    again = [e for e in observer.pending_events() if e.type in ("worker.offline", "worker.online")]
    assert not again, f"the change was announced twice: {again}"
    assert len((await observer.ask("worker.get", worker_id=worker_id))["recent_offline_at"]) == 1


async def test_an_unregistering_worker_goes_offline_with_its_sessions(start_registry, observer, start_worker,
                                                                      wait_until):
    await start_registry()
    worker, whatsapp = await start_worker()
    await observer.next_event("worker.online", worker.worker_id)
    await whatsapp.start_session("s_held", restore=True)
    await wait_until(lambda: session_count(observer, worker.worker_id, 1))
    await worker.stop("deploy")
    offline = await observer.next_event("worker.offline", worker.worker_id)
    assert (offline["reason"], offline["session_ids"]) == ("unregistered", ["s_held"])


async def test_concurrent_selects_on_two_replicas_never_overfill_a_worker(start_registry, observer, start_worker):
    await start_registry()
    await start_registry()
    worker, _ = await start_worker(max_sessions=5)
    await observer.next_event("worker.online", worker.worker_id)
    results = await asyncio.gather(*(observer.select(f"s_{i}") for i in range(20)), return_exceptions=True)
    chosen = [r for r in results if r == worker.worker_id]
    refused = [r for r in results if isinstance(r, RemoteError) and r.code == "unavailable"]
    assert (len(chosen), len(refused)) == (5, 15), results


async def test_the_best_scored_worker_gets_the_session(start_registry, observer, start_worker, wait_until):
    await start_registry()
    small, _ = await start_worker(max_sessions=2)
    big, _ = await start_worker(max_sessions=20)
    for worker in (small, big):
        await observer.next_event("worker.online", worker.worker_id)
    assert await observer.select("s_1") == big.worker_id  # the larger free share


async def test_a_heartbeat_from_an_unknown_worker_is_ignored(start_registry, observer, amqp_url):
    await start_registry()
    link = BrokerLink(amqp_url)
    await link.connect(10)
    await WorkerUplink(link, "never-registered").publish("worker.heartbeat", {"sessions": []})
    await link.close()
    await asyncio.sleep(0.5)
    assert "never-registered" not in await observer.workers()
    assert observer.events.empty()


async def test_an_event_a_crash_left_in_the_outbox_is_published_by_the_monitor(start_registry, observer, database,
                                                                                wait_until):
    await start_registry()
    # As if a replica died between writing a worker's state change and publishing its event.
    entry = outbox_entry(observer.broker, "worker.offline", {"worker_id": "crashed-worker", "state": "offline",
                                                              "reason": "heartbeat timeout", "session_ids": ["s_1"]})
    entry["at"] = utc_now() - timedelta(seconds=30)
    await database["workers"].insert_one({"_id": "crashed-worker", "version": "1", "state": "offline",
                                          "max_sessions": 1, "session_count": 0, "last_heartbeat_at": utc_now(),
                                          "expires_at": utc_now(), "rev": 3, "outbox": [entry]})
    relayed = await observer.next_event("worker.offline", "crashed-worker")
    assert relayed["session_ids"] == ["s_1"]
    await wait_until(lambda: _outbox_empty(database, "crashed-worker"))
    await asyncio.sleep(0.5)  # a few more monitor ticks: the event must not be published again
    assert observer.events.empty()


async def _outbox_empty(database, worker_id: str) -> bool:
    return (await database["workers"].find_one({"_id": worker_id}))["outbox"] == []
