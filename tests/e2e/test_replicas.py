"""Horizontal scaling: two replicas of every service at once. The walking skeleton passes through
either replica of each edge, both replicas of each consumer share its queues (competing consumers),
and the shared-state gauges read the same from either replica. The failover test with every service
doubled is in test_replicas_failover.py (its own module: one platform at a time on the machine)."""

from __future__ import annotations

import aiohttp
import pytest

from harness.fixtures import started_platform
from harness.flows import walking_skeleton
from harness.platform_run import SERVICES, PlatformRun
from harness.scrape import scrape, total

pytestmark = pytest.mark.e2e
REPLICAS = 2


def _every_service_and_a_worker(run: PlatformRun) -> None:
    for name in SERVICES:
        run.add_service(name)
    run.add_worker()


@pytest.fixture(scope="module")
def doubled():
    """Every service twice and one simulated worker."""
    with started_platform("wagw-replicas", _every_service_and_a_worker, replicas=REPLICAS) as run:
        yield run


async def test_walking_skeleton_passes_through_either_replica(doubled):
    run = doubled
    assert len(run.services) == REPLICAS * len(SERVICES)
    # Each run of the skeleton takes the next replica of the gateway and of realtime (round robin).
    for _ in range(REPLICAS):
        result = await walking_skeleton(run)
        assert result["message"]["status"] in {"sent", "delivered", "read"}

    handled = {}
    async with aiohttp.ClientSession() as http:
        for key, process in run.services.items():
            _, samples = await scrape(http, process.url)
            handled[key] = total(samples, "wagw_broker_messages_consumed_total", outcome="ack")
            # The gauges of shared state come from the database: every replica tells the same story.
    print(f"\nreplicas: messages handled per process {handled}")
    for name in ("session-orchestrator", "worker-registry"):
        for replica in [name] + [f"{name}-{i}" for i in range(1, REPLICAS)]:
            assert handled[replica] > 0, f"{replica} took no share of its queues"
    async with aiohttp.ClientSession() as http:
        workers = []
        for key in ("worker-registry", "worker-registry-1"):
            _, samples = await scrape(http, run.services[key].url)
            workers.append(total(samples, "wagw_workers", state="online"))
    assert workers == [1, 1], "each replica counts the one online worker once (from the database)"
