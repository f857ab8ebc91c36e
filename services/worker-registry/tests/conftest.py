"""Fixtures of the registry's integration tests: the registry in-process (one replica or more)
against the local RabbitMQ, Redis and MongoDB-compatible server, a fresh vhost and database per
test, simulated workers speaking the real protocol through the SDK, and an observer playing the
other services (watching fleet events, asking the registry questions)."""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack
from urllib.parse import quote

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient
from wagw_common import topology
from wagw_common.broker import Broker
from wagw_common.envelope import Envelope, parse_envelope
from wagw_common.rpc import RpcClient
from wagw_common.settings import load
from harness.flows import wait_until as harness_wait_until
from harness.infra import management
from wagw_worker_sdk import Worker, WorkerIdentity

from wagw_worker_registry.app import create_app
from wagw_worker_registry.settings import Settings
from wagw_worker_simulator.whatsapp import SimulatedWhatsApp

MONGODB_URI = "mongodb://127.0.0.1:27017/"
HEARTBEAT = 0.5
MISSED = 6  # offline 3 s after the last heartbeat (a loaded test machine delays some)


@pytest.fixture
def amqp_url():
    vhost = f"wagw-test-registry-{secrets.token_hex(4)}"
    management("PUT", f"/vhosts/{quote(vhost, safe='')}")
    management("PUT", f"/permissions/{quote(vhost, safe='')}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
    yield f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"
    management("DELETE", f"/vhosts/{quote(vhost, safe='')}")


@pytest_asyncio.fixture
async def database():
    name = f"wagw_test_registry_{secrets.token_hex(4)}"
    client = AsyncMongoClient(MONGODB_URI, tz_aware=True)
    yield client[name]
    await client.drop_database(name)
    await client.close()


@pytest_asyncio.fixture
async def stack():
    async with AsyncExitStack() as stack:
        yield stack


@pytest.fixture
def start_registry(amqp_url, database, stack):
    """Start a registry replica (call twice for two replicas sharing the broker and database)."""
    settings = load(Settings, {
        "AMQP_URL": amqp_url, "MONGODB_URI": MONGODB_URI, "MONGODB_DATABASE": database.name,
        "WORKER_MISSED_HEARTBEATS": str(MISSED), "WORKER_MONITOR_INTERVAL_SECONDS": "0.2",
        "STARTUP_TIMEOUT_SECONDS": "10", "RPC_TIMEOUT_SECONDS": "5",
    })

    async def start() -> TestServer:
        server = TestServer(create_app(settings))
        await server.start_server()
        stack.push_async_callback(server.close)
        return server

    return start


class Observer:
    """Watches the fleet events and asks the registry questions, as another service would."""

    def __init__(self, amqp_url: str):
        self.broker = Broker(amqp_url, source="test/observer")
        self.rpc = RpcClient(self.broker, default_timeout=5)
        self.events: asyncio.Queue[Envelope] = asyncio.Queue()

    async def start(self) -> None:
        await self.broker.connect(10)
        await self.rpc.start()
        channel = await self.broker.channel(prefetch=100)
        events = await channel.declare_queue(exclusive=True)
        await events.bind(topology.EVENTS, routing_key="worker.*")
        await events.consume(self._on_event, no_ack=True)
        # Session reports of the simulated workers need a consumer to be routable (the orchestrator's role).
        uplink = await channel.declare_queue(exclusive=True)
        await uplink.bind(topology.WORKER_UPLINK, routing_key="worker.session.*")
        await uplink.consume(self._ignore, no_ack=True)

    async def _on_event(self, message) -> None:
        self.events.put_nowait(parse_envelope(message.body))

    @staticmethod
    async def _ignore(_message) -> None:
        pass

    async def next_event(self, event_type: str, worker_id: str, timeout: float = 10) -> dict:
        async def wait():
            while True:
                envelope = await self.events.get()
                if envelope.type == event_type and envelope.data["worker_id"] == worker_id:
                    return envelope.data
        async with asyncio.timeout(timeout):
            return await wait()

    def pending_events(self) -> list[Envelope]:
        return [self.events.get_nowait() for _ in range(self.events.qsize())]

    async def ask(self, request_type: str, **data):
        return await self.rpc.call(request_type, data)

    async def workers(self, state: str | None = None) -> dict[str, dict]:
        reply = await self.rpc.call("worker.list", {"state": state})
        return {w["worker_id"]: w for w in reply["workers"]}

    async def select(self, session_id: str) -> str:
        return (await self.rpc.call("worker.select", {"session_id": session_id}))["worker_id"]


@pytest_asyncio.fixture
async def observer(amqp_url, stack):
    watcher = Observer(amqp_url)
    await watcher.start()
    stack.push_async_callback(watcher.broker.close)
    return watcher


@pytest.fixture
def start_worker(amqp_url, stack):
    """Start a simulated worker (a fresh id unless given; its own connection, by default as guest)."""
    async def start(max_sessions: int = 2, *, worker_id: str | None = None, url: str | None = None,
                    heartbeat: float = HEARTBEAT) -> tuple[Worker, SimulatedWhatsApp]:
        worker_id = worker_id or f"it-worker-{secrets.token_hex(3)}"
        worker = Worker(WorkerIdentity(worker_id, max_sessions=max_sessions, version="test"),
                        amqp_url=url or amqp_url, heartbeat_interval=heartbeat, startup_timeout=10)
        whatsapp = SimulatedWhatsApp(worker.uplink)
        await worker.start(whatsapp)

        async def stop():
            await whatsapp.close()
            if worker.connected:
                await worker.stop("test over")
        stack.push_async_callback(stop)
        return worker, whatsapp

    return start


@pytest.fixture
def wait_until():
    return harness_wait_until
