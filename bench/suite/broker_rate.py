"""The bare broker's persistent publish -> consume rate: confirmed persistent publishes (100 in flight)
into a quorum queue like the platform's, consumed with acks by a plain consumer, on its own vhost."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid

import aio_pika
from harness.infra import create_vhost, delete_vhost

from .cpu_window import CpuWindow
from .stats import cpu_per_item, latency_summary, rate

QUEUE = "bench.broker-rate"


async def publish_consume(count: int, *, in_flight: int = 100, prefetch: int = 32, body_bytes: int = 600) -> dict:
    vhost = await create_vhost("wagw-bench-broker")
    connection = await aio_pika.connect_robust(vhost.amqp_url)
    try:
        publisher = await connection.channel(publisher_confirms=True)
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=prefetch)
        queue = await consumer.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        sent_at: dict[str, float] = {}
        latencies: list[float] = []
        done = asyncio.Event()
        padding = "x" * max(0, body_bytes - 80)

        async def on_message(message) -> None:
            latencies.append(time.perf_counter() - sent_at.pop(message.message_id))
            await message.ack()
            if len(latencies) >= count:
                done.set()

        await queue.consume(on_message)
        gate = asyncio.Semaphore(in_flight)

        async def publish(n: int) -> None:
            async with gate:
                message_id = uuid.uuid4().hex
                sent_at[message_id] = time.perf_counter()
                body = json.dumps({"n": n, "type": "message.send", "padding": padding}).encode()
                await publisher.default_exchange.publish(
                    aio_pika.Message(body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=QUEUE, mandatory=True)

        started = time.perf_counter()
        # The publishing and consuming client (this process) and the broker: all the work a message costs here.
        with CpuWindow({"client": os.getpid()}) as cpu:
            await asyncio.gather(*(publish(n) for n in range(count)))
            async with asyncio.timeout(120):
                await done.wait()
        elapsed = time.perf_counter() - started
    finally:
        await connection.close()
        await delete_vhost(vhost)
    per_second = rate(count, elapsed)
    return {"messages": count, "in_flight": in_flight, "seconds": round(elapsed, 2), "rate_per_s": per_second,
            "latency": latency_summary(latencies), "cpu_percent_of_one_core": cpu.result,
            "cpu_per_message": cpu_per_item(cpu.result, per_second)}
