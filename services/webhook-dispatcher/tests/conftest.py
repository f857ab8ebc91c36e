"""The dispatcher in-process against the real local servers: a private vhost and database per test."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import aio_pika
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient

from harness.flows import wait_until
from harness.infra import MONGO_URI, Vhost, create_vhost, delete_vhost, private_redis_url, release_redis_url
from harness.processes import free_port
from harness.sink import Received
from wagw_common import topology
from wagw_common.broker import Broker
from wagw_common.envelope import parse_envelope
from wagw_common.rpc import RpcClient
from wagw_common.settings import load
from wagw_webhook_dispatcher.app import create_app
from wagw_webhook_dispatcher.settings import Settings

TENANT, SESSION = "u_dispatcher_test", "s_dispatcher"
# Fast enough for tests, long enough to tell the pauses apart: three retries.
TEST_ENV = {
    "WEBHOOK_ALLOWED_DESTINATIONS": "127.0.0.1/32", "WEBHOOK_TIMEOUT_SECONDS": "3", "BROKER_MAX_ATTEMPTS": "5",
    "STARTUP_TIMEOUT_SECONDS": "10", "WEBHOOK_RETRY_SCHEDULE": "200ms,400ms,600ms", "WEBHOOK_RETRY_JITTER": "0.1",
    "WEBHOOK_BUSY_RETRY_SCHEDULE": "100ms,200ms", "WEBHOOK_SWEEP_INTERVAL_SECONDS": "1",
}


@dataclass
class RunningDispatcher:
    broker: Broker  # a client of the dispatcher's vhost
    rpc: RpcClient
    vhost: Vhost
    settings: Settings

    async def call(self, request_type: str, data: dict) -> dict:
        return await self.rpc.call(request_type, data)

    async def create_endpoint(self, url: str, tenant_id: str = TENANT, **fields: Any) -> dict:
        return await self.call("webhook.endpoint.create", {"tenant_id": tenant_id, "url": url, **fields})

    async def message_event(self, message_id: str, *, tenant_id: str = TENANT, session_id: str = SESSION,
                            status: str = "sent"):
        """Publish `message.<status>` on wagw.events, as the session orchestrator does."""
        return await self.broker.publish_event(f"message.{status}", {
            "tenant_id": tenant_id, "session_id": session_id, "message_id": message_id, "status": status,
            "to": "628123456789@s.whatsapp.net", "reason": None, "at": datetime.now(timezone.utc)}, subject=session_id)

    async def deliveries(self, endpoint_id: str, tenant_id: str = TENANT, **filters: Any) -> list[dict]:
        reply = await self.call("webhook.delivery.list",
                                {"tenant_id": tenant_id, "endpoint_id": endpoint_id, **filters})
        return reply["deliveries"]

    async def delivery(self, endpoint_id: str, delivery_id: str, tenant_id: str = TENANT) -> dict:
        return await self.call("webhook.delivery.get", {"tenant_id": tenant_id, "endpoint_id": endpoint_id,
                                                        "delivery_id": delivery_id})

    async def settled(self, endpoint_id: str, count: int = 1, timeout: float = 20.0,
                      tenant_id: str = TENANT) -> list[dict]:
        """The endpoint's deliveries once there are `count` of them and none is pending any more."""
        async def probe():
            found = await self.deliveries(endpoint_id, tenant_id, limit=100)
            return found if len(found) >= count and all(d["status"] != "pending" for d in found) else None

        return await wait_until(probe, timeout)

    @contextlib.asynccontextmanager
    async def webhook_events(self):
        """Collect the dispatcher's own events (webhook.*) from wagw.events, as a future consumer would."""
        seen: list = []
        connection = await aio_pika.connect(self.vhost.amqp_url)
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(topology.EVENTS, routing_key="webhook.#")

        async def collect(message):
            async with message.process():
                seen.append(parse_envelope(message.body))

        await queue.consume(collect)
        try:
            yield seen
        finally:
            await connection.close()


class Sink:
    """A customer's endpoint on this machine. `answer(received)` says what to answer: a status, or
    (status, headers), and may be async (to be slow, or to wait for the test's signal)."""

    def __init__(self, answer: Callable[[Received], Any] | None = None, host: str = "127.0.0.1",
                 port: int | None = None):
        self.host, self.port = host, port or free_port()
        self.answer = answer or (lambda received: 200)
        self.received: list[Received] = []
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    @property
    def ids(self) -> set[str]:
        return {r.headers["webhook-id"] for r in self.received}

    async def start(self) -> "Sink":
        app = web.Application()
        app.router.add_post("/hooks", self._receive)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_address=True).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        received = Received({k.lower(): v for k, v in request.headers.items()}, await request.read())
        async with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        answer = self.answer(received)
        if inspect.isawaitable(answer):
            answer = await answer
        status, headers = answer if isinstance(answer, tuple) else (answer, {})
        return web.Response(status=status, headers=headers, text="answer from the sink")

    async def wait_for(self, predicate: Callable[["Sink"], bool], timeout: float = 20.0) -> None:
        async def satisfied():
            async with self._arrived:
                await self._arrived.wait_for(lambda: predicate(self))

        async with asyncio.timeout(timeout):
            await satisfied()


@pytest.fixture
async def sinks():
    """make(answer=None, host="127.0.0.1", port=None, start=True): sinks stopped after the test."""
    made: list[Sink] = []

    async def make(answer=None, *, host: str = "127.0.0.1", port: int | None = None, start: bool = True) -> Sink:
        sink = Sink(answer, host, port)
        made.append(sink)
        return await sink.start() if start else sink

    yield make
    for sink in made:
        await sink.stop()


@pytest.fixture
async def start_dispatcher():
    """start(**env, dns=None) runs a dispatcher with TEST_ENV plus `env`; everything is torn down after the test."""
    running: list[tuple] = []

    async def start(dns=None, **env: str) -> RunningDispatcher:
        vhost = await create_vhost("wagw-test-dispatcher")
        database, redis_url = f"wagw_test_dispatcher_{uuid.uuid4().hex[:8]}", private_redis_url()
        settings = load(Settings, {"AMQP_URL": vhost.amqp_url, "MONGODB_URI": MONGO_URI, "MONGODB_DATABASE": database,
                                   "REDIS_URL": redis_url, **TEST_ENV, **env})
        server = TestServer(create_app(settings, dns=dns))
        await server.start_server()
        client = Broker(vhost.amqp_url, source="test-client")
        await client.connect(startup_timeout=10)
        rpc = RpcClient(client, default_timeout=5)
        await rpc.start()
        running.append((server, client, database, vhost, redis_url))
        return RunningDispatcher(client, rpc, vhost, settings)

    yield start
    for server, client, database, vhost, redis_url in running:
        await client.close()
        await server.close()
        release_redis_url(redis_url)
        mongo = AsyncMongoClient(MONGO_URI)
        await mongo.drop_database(database)
        await mongo.close()
        await delete_vhost(vhost)


@pytest.fixture
async def dispatcher(start_dispatcher) -> RunningDispatcher:
    return await start_dispatcher()
