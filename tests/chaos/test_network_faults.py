"""Network faults between services and the broker (the session-orchestrator and the gateway connect
through tests/harness/fault_proxy.py), and a customer's webhook endpoint that is down for a while."""

import asyncio

import pytest

from harness.chaos_world import chaos_round
from harness.sink import WebhookSink

pytestmark = pytest.mark.chaos


async def test_latency_and_dropped_connections_to_the_broker(chaos_world):
    proxy = chaos_world.proxy

    async def bad_network():
        proxy.latency = 0.1  # every chunk, both ways
        await asyncio.sleep(5)
        proxy.latency = 0.0
        assert proxy.reset_all() > 0  # connections cut with a reset: the services reconnect
        proxy.refuse = True  # and cannot for a while
        await asyncio.sleep(2)
        proxy.reset_all()
        proxy.refuse = False
        await asyncio.sleep(3)
        proxy.pause()  # a stalled path: nothing flows, nothing is closed
        await asyncio.sleep(3)
        proxy.resume()
        await asyncio.sleep(1)
        proxy.reset_all()  # and one more cut right after it recovered

    try:
        await chaos_round(chaos_world, bad_network)
    finally:
        proxy.latency, proxy.refuse = 0.0, False
        proxy.resume()


async def test_webhook_sink_down_for_a_while(chaos_world):
    """The endpoint answers 503, then is gone (connection refused), then comes back: every event is
    delivered once it is, by the retry schedule (seconds apart here, minutes to hours by default)."""
    sink = WebhookSink()

    async def endpoint_down():
        sink.status = 503
        await asyncio.sleep(6)
        await sink.stop()
        await asyncio.sleep(6)
        sink.status = 200
        await sink.start()

    await chaos_round(chaos_world, endpoint_down, sink=sink)
