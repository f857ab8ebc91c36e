"""An administrator's requests and a worker's recovery, against the local servers: drain and undrain,
remove, a health check, fleet statistics, and a worker that restarts getting its sessions back."""

from __future__ import annotations

import asyncio

import pytest
from wagw_common.errors import RemoteError

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


async def held(observer, worker_id: str, *session_ids: str) -> bool:
    detail = await observer.ask("worker.get", worker_id=worker_id)
    return sorted(s["session_id"] for s in detail["sessions"] if s["status"] == "CONNECTED") == sorted(session_ids)


async def test_a_drained_worker_takes_no_new_session_and_names_its_sessions_then_undrains(
        start_registry, observer, start_worker, wait_until):
    await start_registry()
    worker, whatsapp = await start_worker(max_sessions=5)
    await observer.next_event("worker.online", worker.worker_id)
    await whatsapp.start_session("s_1", restore=True)
    await wait_until(lambda: held(observer, worker.worker_id, "s_1"))
    assert await observer.select("s_chosen") == worker.worker_id

    view = await observer.ask("worker.drain", worker_id=worker.worker_id, reason="kernel upgrade")
    assert (view["state"], view["drain_requested"], view["score"]) == ("draining", True, None)
    draining = await observer.next_event("worker.draining", worker.worker_id)
    assert draining == {"worker_id": worker.worker_id, "state": "draining", "reason": "kernel upgrade",
                        "session_ids": ["s_1", "s_chosen"]}
    with pytest.raises(RemoteError) as refused:
        await observer.select("s_new")
    assert refused.value.code == "unavailable"
    await asyncio.sleep(1)  # heartbeats and a re-registration keep it draining
    await worker.register()
    assert (await observer.workers())[worker.worker_id]["state"] == "draining"

    view = await observer.ask("worker.undrain", worker_id=worker.worker_id)
    assert (view["state"], view["drain_requested"]) == ("online", False)
    back = await observer.next_event("worker.online", worker.worker_id)
    assert (back["reason"], back["session_ids"]) == ("drain cancelled", ["s_1"])
    assert await observer.select("s_new") == worker.worker_id


async def test_a_worker_is_removed_only_offline_or_with_force_and_registers_again_if_it_runs_on(
        start_registry, observer, start_worker, database):
    await start_registry()
    worker, whatsapp = await start_worker()
    await observer.next_event("worker.online", worker.worker_id)
    with pytest.raises(RemoteError) as refused:
        await observer.ask("worker.remove", worker_id=worker.worker_id)
    assert refused.value.code == "conflict"
    with pytest.raises(RemoteError) as missing:
        await observer.ask("worker.remove", worker_id="no-such-worker")
    assert missing.value.code == "not_found"

    await worker.stop("retired")
    await observer.next_event("worker.offline", worker.worker_id)
    assert await observer.ask("worker.remove", worker_id=worker.worker_id) == {"worker_id": worker.worker_id,
                                                                               "session_ids": []}
    removed = await observer.next_event("worker.removed", worker.worker_id)
    assert removed["reason"] == "removed by an administrator"
    assert worker.worker_id not in await observer.workers()
    assert await database["workers"].find_one({"_id": worker.worker_id}) is None
    with pytest.raises(RemoteError):
        await observer.ask("worker.get", worker_id=worker.worker_id)

    again, _ = await start_worker(worker_id=worker.worker_id)  # the same id, a new life
    assert (await observer.next_event("worker.online", again.worker_id))["reason"] == "registered"

    forced = await observer.ask("worker.remove", worker_id=again.worker_id, force=True)
    assert forced["worker_id"] == again.worker_id
    await observer.next_event("worker.removed", again.worker_id)
    # Still running: its next heartbeat is from a worker the registry does not know, which it asks to
    # register again (as after a lost database).
    assert (await observer.next_event("worker.online", again.worker_id))["reason"] == "registered"


async def test_a_health_check_asks_a_live_worker_to_beat_and_declares_a_silent_one_offline(
        start_registry, observer, start_worker, wait_until):
    await start_registry()
    worker, _ = await start_worker(heartbeat=30)  # it would not beat again for half a minute
    await observer.next_event("worker.online", worker.worker_id)
    before = (await observer.ask("worker.get", worker_id=worker.worker_id))["last_heartbeat_at"]
    check = await observer.ask("worker.check", worker_id=worker.worker_id)
    assert check["heartbeat_requested"] is True and check["worker"]["state"] == "online"

    async def beat_again():
        return (await observer.ask("worker.get", worker_id=worker.worker_id))["last_heartbeat_at"] > before
    await wait_until(beat_again, timeout=5)

    silent, _ = await start_worker(heartbeat=0.5)
    await observer.next_event("worker.online", silent.worker_id)
    silent.pause_heartbeats()
    await asyncio.sleep(3.5)  # past its deadline; the check need not wait for the monitor
    check = await observer.ask("worker.check", worker_id=silent.worker_id)
    assert (check["worker"]["state"], check["heartbeat_requested"]) == ("offline", False)


async def test_fleet_statistics_sum_up_the_workers(start_registry, observer, start_worker, wait_until):
    await start_registry()
    first, whatsapp = await start_worker(max_sessions=4)
    second, _ = await start_worker(max_sessions=6)
    for worker in (first, second):
        await observer.next_event("worker.online", worker.worker_id)
    await whatsapp.start_session("s_1", restore=True)
    await wait_until(lambda: held(observer, first.worker_id, "s_1"))
    await observer.ask("worker.drain", worker_id=second.worker_id)
    stats = await observer.ask("worker.stats")
    assert stats["workers"] == {"total": 2, "online": 1, "draining": 1, "offline": 0}
    assert stats["capacity"]["max_sessions"] == 4 and stats["capacity"]["sessions"] == 1
    assert stats["sessions"]["connected"] == 1 and stats["versions"] == {"test": 2}


async def test_a_worker_that_restarts_is_told_its_sessions_and_restores_them_except_those_moved_away(
        start_registry, observer, start_worker, wait_until):
    await start_registry()
    worker, whatsapp = await start_worker(max_sessions=5)
    worker_id = worker.worker_id
    await observer.next_event("worker.online", worker_id)
    for session_id in ("s_1", "s_2", "s_3"):
        await whatsapp.start_session(session_id, restore=True)
    await wait_until(lambda: held(observer, worker_id, "s_1", "s_2", "s_3"))

    await whatsapp.close()
    await worker.abandon()  # killed: no unregister
    offline = await observer.next_event("worker.offline", worker_id, timeout=10)
    assert sorted(offline["session_ids"]) == ["s_1", "s_2", "s_3"]
    # Meanwhile one session is moved to another worker (the orchestrator's failover).
    other, _ = await start_worker(max_sessions=5)
    await observer.next_event("worker.online", other.worker_id)
    assert await observer.select("s_3") == other.worker_id

    restarted, restarted_whatsapp = await start_worker(max_sessions=5, worker_id=worker_id)
    # Back online by its registration or by the heartbeat right behind it, whichever is handled first.
    assert (await observer.next_event("worker.online", worker_id))["reason"] in ("registered", "heartbeat resumed")
    async with asyncio.timeout(5):
        await restarted.assigned.wait()
    assert sorted(restarted.restored) == ["s_1", "s_2"]
    assert sorted(s["session_id"] for s in restarted_whatsapp.held_sessions()) == ["s_1", "s_2"]
    await wait_until(lambda: held(observer, worker_id, "s_1", "s_2"))
