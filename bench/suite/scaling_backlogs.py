"""The backlogs the scaling part drains: sends accepted by the gateway for the orchestrator, message
events published straight to the broker for the dispatcher, and how far each has been worked off."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from itertools import cycle
from typing import Awaitable, Callable

import aio_pika
import aiohttp
import pymongo
from harness.platform_run import PlatformRun
from wagw_common import topology
from wagw_common.broker import Broker

from .webhooks import event
from .world import Tenant

POLL_SECONDS = 0.25
# The orchestrator's work on a send ends with the worker's last receipt (sent, delivered, read).
FINISHED = ("read", "failed")


async def post_sends(gateway_url: str, tenant: Tenant, count: int, *, concurrency: int = 32) -> int:
    """`count` sends accepted, spread over the tenant's sessions (and so over the send shards)."""
    keys = cycle(list(tenant.keys.values()))
    jobs = iter(range(count))
    refused = 0

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal refused
        for n in jobs:
            while True:
                async with http.post(gateway_url + "/api/v1/send", headers={"X-API-Key": next(keys)},
                                     json={"to": "+628123456789", "text": f"backlog {n}"}) as response:
                    await response.read()
                    if response.status == 202:
                        break
                    refused += 1
                    if refused > count:  # not a busy moment: the gateway refuses these sends
                        raise RuntimeError(f"the gateway refused the backlog: {response.status} "
                                           f"{await response.text()}")
                    await asyncio.sleep(0.1)

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
    return refused


async def publish_events(run: PlatformRun, tenant: Tenant, count: int) -> None:
    """`count` message.sent events of the tenant's first session, as the orchestrator publishes them."""
    session_id = next(iter(tenant.keys))
    broker = Broker(run.vhost.amqp_url, source="bench")
    await broker.connect(10)
    try:
        gate = asyncio.Semaphore(100)

        async def publish() -> None:
            async with gate:
                message_id = "m_" + secrets.token_hex(8)
                await broker.publish_event("message.sent", event(tenant.user_id, session_id, message_id),
                                           subject=session_id)

        await asyncio.gather(*(publish() for _ in range(count)))
    finally:
        await broker.close()


@contextlib.asynccontextmanager
async def finished_sends(run: PlatformRun):
    """Yields a count of the sends whose lifecycle ended, from the orchestrator's own events
    (`message.read`, `message.failed`) on a queue of the bench's: polling the database instead would
    load the server the orchestrator is measured against."""
    connection = await aio_pika.connect_robust(run.vhost.amqp_url)
    finished = 0
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        for status in FINISHED:
            await queue.bind(topology.EVENTS, routing_key=f"message.{status}")

        async def note(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal finished
            finished += 1

        await queue.consume(note, no_ack=True)

        async def count() -> int:
            return finished

        yield count
    finally:
        await connection.close()


def finished_in_database(run: PlatformRun) -> int:
    """The same count from the orchestrator's history, once, after the measured window."""
    client: pymongo.MongoClient = pymongo.MongoClient(run.mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        messages = client[f"wagw_t{run.run_id}_session_orchestrator"]["messages"]
        return messages.count_documents({"status": {"$in": list(FINISHED)}})
    finally:
        client.close()


async def drained(count: Callable[[], Awaitable[int]], target: int, timeout: float) -> tuple[int, float]:
    """Waits until `count()` reaches `target` (or the timeout): how many were done, in how many seconds."""
    started = time.perf_counter()
    done = await count()
    while done < target and time.perf_counter() - started < timeout:
        await asyncio.sleep(POLL_SECONDS)
        done = await count()
    return done, time.perf_counter() - started
