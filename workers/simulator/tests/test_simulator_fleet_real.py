"""Many simulated workers in one process over one shared connection, against the local RabbitMQ:
each is still a whole worker (its own registration, heartbeats, identity and command queue)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from wagw_worker_simulator.fleet import Fleet, FleetOptions

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

WORKERS, SESSIONS = 20, 5


async def test_a_fleet_shares_one_connection_yet_each_worker_speaks_and_listens_for_itself(platform, amqp_url, vhost,
                                                                                          management):
    await platform.listen()
    fleet = Fleet(FleetOptions(amqp_url=amqp_url, workers=WORKERS, sessions=SESSIONS, heartbeat_interval=0.5,
                               prefix="it-fleet", channels=3))
    await fleet.start(startup_timeout=10)
    try:
        beats: Counter[str] = Counter()
        while len(beats) < WORKERS or min(beats.values()) < 2:
            beat = await platform.next("worker.heartbeat", timeout=10)
            beats[beat["worker_id"]] += 1
            assert len(beat["sessions"]) == SESSIONS
            assert {s["status"] for s in beat["sessions"]} == {"CONNECTED"}
        assert set(beats) == {fleet.worker_id(i) for i in range(WORKERS)}

        assert await _worker_connections(management, vhost) == ["worker-fleet/it-fleet"]

        # A command for one worker reaches that worker only.
        target = fleet.worker_id(7)
        await platform.broker.send_to_worker(target, "worker.session.stop", {"session_id": f"s_{target}_000"})
        stopped = await platform.next("worker.session.status", session_id=f"s_{target}_000")
        assert (stopped["worker_id"], stopped["status"]) == (target, "DISCONNECTED")
        held = {w.worker_id: len(s.held_sessions()) for w, s in fleet.members}
        assert held.pop(target) == SESSIONS - 1 and set(held.values()) == {SESSIONS}
    finally:
        await fleet.stop()
    unregistered = {(await platform.next("worker.unregister"))["worker_id"] for _ in range(WORKERS)}
    assert len(unregistered) == WORKERS


async def _worker_connections(management, vhost: str) -> list[str]:
    for _ in range(50):  # the management API lists a connection shortly after it opens
        names = [c.get("client_properties", {}).get("connection_name", "")
                 for c in management("GET", f"/vhosts/{vhost}/connections")]
        workers = [n for n in names if n.startswith("worker")]
        if workers:
            return workers
        await asyncio.sleep(0.2)
    return []
