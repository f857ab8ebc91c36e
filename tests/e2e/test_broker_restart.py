"""Restarting RabbitMQ under the running platform: every service notices, reconnects by itself,
and the walking skeleton passes again afterwards."""

import asyncio

import pytest

from harness.flows import wait_until, walking_skeleton
from harness.infra import rabbitmqctl
from harness.processes import ask_each
from wagw_common.broker import Broker
from wagw_common.rpc import RpcClient

pytestmark = pytest.mark.e2e


async def _readiness(platform) -> dict[str, int]:
    return {name: status for name, (status, _) in (await ask_each(platform.services, "/readyz")).items()}


async def test_services_survive_a_broker_restart(platform):
    await rabbitmqctl_async("stop_app")
    try:
        async def all_unready():
            statuses = await _readiness(platform)
            return all(code == 503 for code in statuses.values()) and statuses

        await wait_until(all_unready, timeout=30)
    finally:
        await rabbitmqctl_async("start_app")
    await rabbitmqctl_async("await_startup")

    async def all_ready():
        statuses = await _readiness(platform)
        return all(code == 200 for code in statuses.values()) and statuses

    await wait_until(all_ready, timeout=90, interval=1)
    assert all(p.alive for p in [*platform.services.values(), *platform.workers.values()])
    # A long outage is a missed heartbeat: the registry may have declared the worker offline, and
    # its next heartbeat brings it back. Wait for that, as the platform's own users would.
    await _wait_until_workers_online(platform)
    await walking_skeleton(platform)


async def rabbitmqctl_async(*args: str) -> str:
    return await asyncio.to_thread(rabbitmqctl, *args)


async def _wait_until_workers_online(platform) -> None:
    broker = Broker(platform.vhost.amqp_url, source="test")
    await broker.connect(startup_timeout=10)
    rpc = RpcClient(broker, default_timeout=5)
    await rpc.start()
    try:
        async def all_online():
            online = (await rpc.call("worker.list", {"state": "online"}))["workers"]
            return set(platform.workers) <= {w["worker_id"] for w in online}

        await wait_until(all_online, timeout=30, interval=0.5)
    finally:
        await broker.close()
