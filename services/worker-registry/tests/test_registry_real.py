"""The registry in-process against the local RabbitMQ, Redis and MongoDB-compatible server, with a
simulated worker speaking the real protocol. Each test gets its own vhost and database."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import urllib.request
from contextlib import AsyncExitStack
from datetime import timedelta
from urllib.parse import quote

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient
from wagw_common import topology
from wagw_common.broker import Broker
from wagw_common.envelope import Envelope, parse_envelope
from wagw_common.errors import RemoteError
from wagw_common.outbox import outbox_entry
from wagw_common.rpc import RpcClient
from wagw_common.settings import load
from wagw_common.storage import utc_now

from wagw_worker_registry.app import create_app
from wagw_worker_registry.settings import Settings
from wagw_worker_simulator.protocol import WorkerIdentity, WorkerProtocol
from wagw_worker_simulator.whatsapp import SimulatedWhatsApp

pytestmark = [pytest.mark.integration, pytest.mark.asyncio, pytest.mark.timeout(90)]

MANAGEMENT = "http://127.0.0.1:15672/api"
MONGODB_URI = "mongodb://127.0.0.1:27017/"
HEARTBEAT = 0.5
OFFLINE_AFTER = 2.0


def management(method: str, path: str, body: dict | None = None) -> None:
    request = urllib.request.Request(f"{MANAGEMENT}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"content-type": "application/json",
                                              "authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
    urllib.request.urlopen(request, timeout=10).close()


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
        "WORKER_OFFLINE_AFTER_SECONDS": str(OFFLINE_AFTER), "WORKER_MONITOR_INTERVAL_SECONDS": "0.2",
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
        # Session reports of the simulated worker need a consumer to be routable (the orchestrator's role).
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
        return await asyncio.wait_for(wait(), timeout)

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
    async def start(max_sessions: int = 2) -> tuple[WorkerProtocol, SimulatedWhatsApp]:
        worker_id = f"it-worker-{secrets.token_hex(3)}"
        protocol = WorkerProtocol(WorkerIdentity(worker_id, max_sessions=max_sessions, version="test"),
                                  amqp_url=amqp_url, heartbeat_interval=HEARTBEAT, startup_timeout=10)
        whatsapp = SimulatedWhatsApp(protocol.uplink)
        await protocol.start(whatsapp)

        async def stop():
            await whatsapp.close()
            if protocol.broker.is_connected:
                await protocol.stop("test over")
        stack.push_async_callback(stop)
        return protocol, whatsapp

    return start


async def until(probe, timeout: float = 10, every: float = 0.1):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(every)


async def test_a_registered_worker_is_listed_online_and_chosen_within_its_capacity(
        start_registry, observer, start_worker, database):
    await start_registry()
    protocol, _ = await start_worker(max_sessions=2)
    worker_id = protocol.worker_id
    online = await observer.next_event("worker.online", worker_id)
    assert online == {"worker_id": worker_id, "state": "online", "reason": "registered", "session_ids": []}

    listed = (await observer.workers())[worker_id]
    assert (listed["state"], listed["max_sessions"], listed["version"]) == ("online", 2, "test")
    assert worker_id in await observer.workers("online") and worker_id not in await observer.workers("offline")

    assert await observer.select("s_first") == worker_id
    assert await observer.select("s_first") == worker_id  # asked again: same worker, no second slot
    assert await observer.select("s_second") == worker_id
    with pytest.raises(RemoteError) as refused:
        await observer.select("s_third")  # two sessions assigned since the last heartbeat: full
    assert refused.value.code == "unavailable"

    stored = await database["workers"].find_one({"_id": worker_id})
    assert stored["outbox"] == []  # the event left the outbox once published


async def test_a_silent_worker_goes_offline_once_and_its_next_heartbeat_brings_it_back(
        start_registry, observer, start_worker):
    await start_registry()
    await start_registry()  # two replicas: only one of them may declare the worker offline
    protocol, whatsapp = await start_worker()
    worker_id = protocol.worker_id
    await observer.next_event("worker.online", worker_id)
    await whatsapp.start_session("s_restored", restore=True)
    await until(lambda: _session_count(observer, worker_id, 1))

    protocol.pause_heartbeats()
    offline = await observer.next_event("worker.offline", worker_id, timeout=OFFLINE_AFTER + 5)
    assert offline == {"worker_id": worker_id, "state": "offline", "reason": "heartbeat timeout",
                       "session_ids": ["s_restored"]}
    assert (await observer.workers())[worker_id]["state"] == "offline"
    with pytest.raises(RemoteError):
        await observer.select("s_other")

    protocol.resume_heartbeats()
    back = await observer.next_event("worker.online", worker_id)
    assert back == {"worker_id": worker_id, "state": "online", "reason": "heartbeat resumed",
                    "session_ids": ["s_restored"]}
    drained = [observer.events.get_nowait() for _ in range(observer.events.qsize())]
    assert not [e for e in drained if e.type == "worker.offline"], "the worker was declared offline twice"


async def _session_count(observer: Observer, worker_id: str, expected: int) -> bool:
    return (await observer.workers()).get(worker_id, {}).get("session_count") == expected


async def test_an_unregistering_worker_goes_offline_with_its_sessions(start_registry, observer, start_worker):
    await start_registry()
    protocol, whatsapp = await start_worker()
    await observer.next_event("worker.online", protocol.worker_id)
    await whatsapp.start_session("s_held", restore=True)
    await until(lambda: _session_count(observer, protocol.worker_id, 1))
    await protocol.stop("deploy")
    offline = await observer.next_event("worker.offline", protocol.worker_id)
    assert (offline["reason"], offline["session_ids"]) == ("unregistered", ["s_held"])


async def test_concurrent_selects_on_two_replicas_never_overfill_a_worker(start_registry, observer, start_worker):
    await start_registry()
    await start_registry()
    protocol, _ = await start_worker(max_sessions=5)
    await observer.next_event("worker.online", protocol.worker_id)
    results = await asyncio.gather(*(observer.select(f"s_{i}") for i in range(20)), return_exceptions=True)
    chosen = [r for r in results if r == protocol.worker_id]
    refused = [r for r in results if isinstance(r, RemoteError) and r.code == "unavailable"]
    assert (len(chosen), len(refused)) == (5, 15), results


async def test_a_heartbeat_from_an_unknown_worker_is_ignored(start_registry, observer):
    await start_registry()
    envelope = observer.broker.envelope("worker.heartbeat", {"worker_id": "never-registered", "sessions": []})
    await observer.broker.publish(envelope, exchange=topology.WORKER_UPLINK, routing_key="worker.heartbeat")
    await asyncio.sleep(0.5)
    assert "never-registered" not in await observer.workers()
    assert observer.events.empty()


async def test_an_event_a_crash_left_in_the_outbox_is_published_by_the_monitor(start_registry, observer, database):
    await start_registry()
    # As if a replica died between writing a worker's state change and publishing its event.
    entry = outbox_entry(observer.broker, "worker.offline", {"worker_id": "crashed-worker", "state": "offline",
                                                              "reason": "heartbeat timeout", "session_ids": ["s_1"]})
    entry["at"] = utc_now() - timedelta(seconds=30)
    await database["workers"].insert_one({"_id": "crashed-worker", "version": "1", "state": "offline",
                                          "max_sessions": 1, "session_count": 0, "last_heartbeat_at": utc_now(),
                                          "rev": 3, "outbox": [entry]})
    relayed = await observer.next_event("worker.offline", "crashed-worker")
    assert relayed["session_ids"] == ["s_1"]
    await until(lambda: _outbox_empty(database, "crashed-worker"))
    await asyncio.sleep(0.5)  # a few more monitor ticks: the event must not be published again
    assert observer.events.empty()


async def _outbox_empty(database, worker_id: str) -> bool:
    return (await database["workers"].find_one({"_id": worker_id}))["outbox"] == []
