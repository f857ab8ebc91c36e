"""A malformed message on any service's queue is dead-lettered, counted and logged, and the
consumer keeps running."""

import asyncio
import json
import re

import aio_pika
import aiohttp
import pytest

from harness.infra import consumed_queue
from wagw_common.topology import SERVICE_QUEUES

pytestmark = pytest.mark.e2e
POISON = [b"not json at all", b'{"specversion": "1.0", "id": "x"}',
          b'{"specversion":"1.0","id":"p1","source":"test","type":"session.get","time":"2026-01-01T00:00:00Z",'
          b'"correlationid":"c1","data":{"tenant_id":"u_1"}}']
CASES = [(service, queue) for service, queues in SERVICE_QUEUES.items() for queue in queues]


async def _dead_lettered_count(url: str, queue: str) -> float:
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/metrics") as r:
            text = await r.text()
    pattern = (rf'wagw_broker_messages_consumed_total{{[^}}]*outcome="dead_lettered"'
               rf'[^}}]*queue="{re.escape(queue)}"[^}}]*}} (\S+)')
    alt = rf'wagw_broker_messages_consumed_total{{queue="{re.escape(queue)}",outcome="dead_lettered"}} (\S+)'
    match = re.search(pattern, text) or re.search(alt, text)
    return float(match.group(1)) if match else 0.0


@pytest.mark.parametrize("service,spec", CASES, ids=[q.name for _, q in CASES])
async def test_poison_messages_are_dead_lettered_and_counted(platform, service, spec):
    url, queue = platform.url(service), spec.name
    before = await _dead_lettered_count(url, queue)
    connection = await aio_pika.connect(platform.vhost.amqp_url)
    async with connection:
        channel = await connection.channel()
        for body in POISON:
            await channel.default_exchange.publish(aio_pika.Message(body,
                                                                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                                   routing_key=await consumed_queue(platform.vhost, spec))
        dead_queue = await channel.get_queue(f"{queue}.dead-letter")
        bodies = []
        for _ in range(100):
            message = await dead_queue.get(fail=False)
            if message is None:
                if len(bodies) >= len(POISON):
                    break
                await asyncio.sleep(0.1)
                continue
            await message.ack()
            bodies.append(message.body)
    assert set(POISON) <= set(bodies)
    assert await _dead_lettered_count(url, queue) >= before + len(POISON)
    lines = [json.loads(line) for line in platform.services[service].log_path.read_text().splitlines()
             if line.startswith("{")]
    assert any(line.get("event") == "message.malformed_dead_lettered" and line.get("queue") == queue for line in lines)
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/readyz") as r:
            assert r.status == 200
