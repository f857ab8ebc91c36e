"""A service SIGKILLed under load and started again (its unacknowledged messages go back to the queue
and are handled by the new process, its outbox relayed), and a simulated worker SIGKILLed (its sessions
move to the other worker; the flow of tests/e2e/test_session_failover.py, audited here end to end), and
a simulated worker paused (SIGSTOP) past its heartbeat window, then resumed."""

import asyncio
from collections import Counter

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.chaos_world import OFFLINE_AFTER, chaos_round
from harness.flows import wait_until

pytestmark = pytest.mark.chaos


@pytest.mark.parametrize("service", ["session-orchestrator", "webhook-dispatcher", "gateway"])
async def test_service_sigkill_under_load(chaos_world, service):
    process = chaos_world.run.services[service]

    async def kill_and_restart():
        process.kill()  # SIGKILL: no graceful shutdown, messages in hand unacknowledged
        await asyncio.sleep(1)
        process.start()
        await process.wait_ready()

    await chaos_round(chaos_world, kill_and_restart)


async def test_worker_sigkill_under_load(chaos_world):
    run = chaos_world.run
    victim_id, victim = next(iter(run.workers.items()))

    async def kill_then_bring_it_back():
        victim.kill()

        async def moved():
            async with aiohttp.ClientSession() as http:
                api = GatewayClient(run.url("gateway"), http)
                status, body, _ = await api.request("GET", "/sessions", token=chaos_world.customer.token)
                return status == 200 and all(s["worker_id"] != victim_id and s["status"] == "CONNECTED"
                                             for s in body["sessions"])

        await wait_until(moved, timeout=OFFLINE_AFTER + 60, interval=0.5)
        victim.start()  # the same worker id again, as a restarted pod would be
        await victim.wait_ready()

    await chaos_round(chaos_world, kill_then_bring_it_back)


async def test_worker_paused_past_its_window_under_load(chaos_world):
    """SIGSTOP, not SIGKILL: the worker holding most sessions stands still with its connection open while
    sends queue for it; its sessions move; resumed, it finds stale sends in its queue and must bounce
    them, not send them (the audit counts every worker's sends)."""
    run = chaos_world.run

    async def placement() -> dict[str, int]:
        async with aiohttp.ClientSession() as http:
            api = GatewayClient(run.url("gateway"), http)
            status, body, _ = await api.request("GET", "/sessions", token=chaos_world.customer.token)
            assert status == 200, body
            return Counter(s["worker_id"] for s in body["sessions"])

    victim_id = (await placement()).most_common(1)[0][0]
    victim = run.workers[victim_id]

    async def pause_until_its_sessions_moved():
        victim.pause()
        try:
            async def moved():
                return victim_id not in await placement()

            await wait_until(moved, timeout=OFFLINE_AFTER + 60, interval=0.5)
            await asyncio.sleep(2)  # sends keep queueing on the new placement meanwhile
        finally:
            victim.resume()

    await chaos_round(chaos_world, pause_until_its_sessions_moved)
