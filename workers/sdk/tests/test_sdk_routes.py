"""What every worker process serves over HTTP: health, readiness and its metrics."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from wagw_common import topology
from wagw_common.envelope import Envelope
from wagw_common.testing import InMemoryBroker

from wagw_worker_sdk import Worker, WorkerIdentity
from wagw_worker_sdk.routes import add_worker_routes

pytestmark = pytest.mark.unit


class Sessions:
    def __init__(self):
        self.held = {}

    def held_sessions(self):
        return [{"session_id": s, "status": status} for s, status in self.held.items()]

    async def start_session(self, session_id, *, restore, pairing_phone=None):
        self.held[session_id] = "CONNECTED" if restore else "QR_REQUIRED"

    async def stop_session(self, session_id, *, logout):
        raise RuntimeError("the socket broke")


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_count_commands_by_type_and_outcome_and_describe_the_sessions_held():
    broker = InMemoryBroker(source="session-orchestrator")
    broker.hold(topology.WORKER_UPLINK, "#")
    worker = Worker(WorkerIdentity("metrics-worker", max_sessions=5, version="1"), link=broker, heartbeat_interval=60)
    await worker.start(Sessions())
    app = web.Application()
    add_worker_routes(app, worker)
    async with TestClient(TestServer(app)) as client:
        before = samples(await (await client.get("/metrics")).text())
        for message_type, data in (("worker.session.start", {"session_id": "s_1"}),
                                   ("worker.session.start", {"session_id": "s_2"}),
                                   ("worker.session.stop", {"session_id": "s_1"})):
            await broker.publish(Envelope(type=message_type, source="session-orchestrator", data=data),
                                 exchange=topology.WORKER_DOWNLINK, routing_key="metrics-worker")
        await broker.settled()
        assert (await client.get("/readyz")).status == 200
        after = samples(await (await client.get("/metrics")).text())

    def grew(name: str, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("wagw_worker_commands_total", type="worker.session.start", outcome="handled") == 2
    assert grew("wagw_worker_commands_total", type="worker.session.stop", outcome="failed") == 2  # tried twice
    assert after[("wagw_worker_sessions", (("status", "QR_REQUIRED"),))] == 2
    assert after[("wagw_worker_publishes_total", (("outcome", "confirmed"), ("type", "worker.register")))] >= 1
    assert after[("wagw_worker_registered", ())] == 1
    assert 0 <= after[("wagw_worker_heartbeat_age_seconds", ())] < 60
    await worker.abandon()
