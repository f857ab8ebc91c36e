"""Isolation and durability: a slow endpoint never holds up another one, and an endpoint that is
down during a burst gets every event once it is back, none lost (receiver's view: by webhook-id)."""

import asyncio

import pytest

pytestmark = pytest.mark.integration


async def test_a_slow_endpoint_does_not_delay_a_fast_one(start_dispatcher, sinks):
    # Four delivery slots in the replica, at most two of them for any one endpoint.
    dispatcher = await start_dispatcher(WEBHOOK_DELIVERY_CONCURRENCY="4", WEBHOOK_ENDPOINT_CONCURRENCY="2",
                                        WEBHOOK_TIMEOUT_SECONDS="60")
    release, running = asyncio.Event(), {"now": 0, "most": 0}

    async def stuck(received):
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        await release.wait()  # as slow as the test wants: until it lets go
        running["now"] -= 1
        return 200

    slow, fast = await sinks(stuck), await sinks()
    slow_endpoint = await dispatcher.create_endpoint(slow.url, tenant_id="u_slow")
    fast_endpoint = await dispatcher.create_endpoint(fast.url, tenant_id="u_fast")
    # The slow endpoint's events go first, so their jobs are ahead in the queue.
    slow_ids = {(await dispatcher.message_event(f"m_slow_{i}", tenant_id="u_slow")).id for i in range(12)}
    fast_ids = {(await dispatcher.message_event(f"m_fast_{i}", tenant_id="u_fast")).id for i in range(12)}

    await fast.wait_for(lambda s: s.ids == fast_ids, timeout=30)
    # Every fast delivery arrived while the slow endpoint held only its two slots, never more.
    assert len(slow.received) == 2 and running["most"] == 2
    fast_deliveries = await dispatcher.settled(fast_endpoint["endpoint_id"], count=12, tenant_id="u_fast")
    assert all(d["status"] == "succeeded" and d["attempt_count"] == 1 for d in fast_deliveries)

    release.set()
    await slow.wait_for(lambda s: s.ids == slow_ids, timeout=60)
    slow_deliveries = await dispatcher.settled(slow_endpoint["endpoint_id"], count=12, timeout=30,
                                               tenant_id="u_slow")
    # Put off while the endpoint was busy is not an attempt: each one succeeded at its first.
    assert all(d["status"] == "succeeded" and d["attempt_count"] == 1 for d in slow_deliveries)
    assert running["most"] == 2


async def test_endpoints_down_during_a_burst_get_every_event_exactly_once_after(start_dispatcher, sinks):
    dispatcher = await start_dispatcher(WEBHOOK_RETRY_SCHEDULE="200ms,500ms,1s,2s,2s,2s,2s,2s,2s")
    first, second = await sinks(), await sinks()
    endpoints = [await dispatcher.create_endpoint(s.url) for s in (first, second)]
    sent: set[str] = set()

    async def burst(prefix: str, count: int) -> None:
        for i in range(count):
            sent.add((await dispatcher.message_event(f"m_{prefix}_{i}")).id)

    await burst("before", 20)
    await asyncio.gather(first.stop(), second.stop())  # both endpoints go down in the middle of the burst
    await burst("during", 20)
    await asyncio.sleep(2)
    await asyncio.gather(first.start(), second.start())  # and come back on the same address
    await burst("after", 20)

    for sink in (first, second):
        await sink.wait_for(lambda s: s.ids == sent, timeout=60)
    for endpoint in endpoints:
        deliveries = await dispatcher.settled(endpoint["endpoint_id"], count=60, timeout=30)
        assert len(deliveries) == 60 and all(d["status"] == "succeeded" for d in deliveries)
        assert {d["event_id"] for d in deliveries} == sent
    # The receiver's view: after dropping repeated webhook-ids, each event once; none missing, none extra.
    for sink in (first, second):
        assert sink.ids == sent
    retried = [d for e in endpoints for d in await dispatcher.deliveries(e["endpoint_id"], limit=100)
               if d["attempt_count"] > 1]
    assert retried  # the outage was real: some deliveries needed more than one attempt
