"""The chaos tests' own platform: private RabbitMQ, Redis and FerretDB servers (tests/harness/private_infra.py)
that a test may restart or SIGKILL, the five services and two simulated workers on them, the
session-orchestrator and the gateway reaching the broker through a fault-injecting proxy, and one
customer with connected sessions. Shared by every chaos test of a run; each test brings its own traffic,
webhook sink and audit (see `chaos_round`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
from pymongo import AsyncMongoClient

from .api import Customer, GatewayClient
from .chaos import Traffic, audit, dead_letters
from .fault_proxy import FaultProxy
from .flows import wait_until
from .platform_run import PlatformRun
from .processes import ask_each
from .private_infra import PrivateInfra, PrivateVhost
from .sink import WebhookSink
from .tiers import set_tier

SESSIONS = 4
WORKERS = 2
HEARTBEAT = 2
MISSED = 3
OFFLINE_AFTER = HEARTBEAT * MISSED


@dataclass
class ChaosWorld:
    infra: PrivateInfra
    proxy: FaultProxy
    run: PlatformRun
    customer: Customer | None = None
    keys: dict[str, str] | None = None  # session id -> API key


def chaos_world_run():
    """The world, built; torn down when the generator is closed."""
    infra = PrivateInfra()
    proxy = None
    run = None
    try:
        infra.start()
        proxy = FaultProxy(infra.rabbit.amqp_port).start()
        run = PlatformRun(PrivateVhost("/", rabbit=infra.rabbit), redis_url=infra.redis.url, mongo_uri=infra.mongo.uri)
        proxied = {"AMQP_URL": infra.rabbit.amqp_url("/", proxy.port)}
        run.add_service("gateway", **proxied)
        run.add_service("session-orchestrator", **proxied, OUTBOX_RELAY_INTERVAL_SECONDS="2")
        run.add_service("worker-registry", WORKER_MISSED_HEARTBEATS=str(MISSED),
                        WORKER_MONITOR_INTERVAL_SECONDS="1")
        # Retries seconds apart (not minutes), so a sink that was down is caught up within the test.
        run.add_service("webhook-dispatcher", WEBHOOK_RETRY_SCHEDULE="1s,2s,3s,5s,5s,5s,5s,5s,5s,5s,5s,5s",
                        WEBHOOK_SWEEP_INTERVAL_SECONDS="5", WEBHOOK_STALLED_AFTER_SECONDS="30")
        run.add_service("realtime")
        for _ in range(WORKERS):
            run.add_worker(HEARTBEAT_INTERVAL_SECONDS=str(HEARTBEAT), SIMULATOR_AUTO_SCAN_SECONDS="0.2",
                           SIMULATOR_STATUS_DELAY_SECONDS="0.05", WORKER_CAPACITY="100")
        asyncio.run(run.start())
        world = ChaosWorld(infra, proxy, run)
        asyncio.run(_customer_with_sessions(world))
        yield world
    finally:
        if run is not None:
            run.stop()
        if proxy is not None:
            proxy.close()
        infra.close()


async def _customer_with_sessions(world: ChaosWorld) -> None:
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(world.run.url("gateway"), http)
        world.customer = await api.sign_up()
        await set_tier(world.run, world.customer.email, "MAX")
        world.keys = {}
        for i in range(SESSIONS):
            _, created, _ = await api.request("POST", "/sessions", token=world.customer.token,
                                              json={"name": f"chaos {i}"}, expect=201)
            session_id = created["session"]["session_id"]
            world.keys[session_id] = created["api_key"]
            await api.request("POST", f"/sessions/{session_id}/connect", token=world.customer.token, expect=202)
        await wait_until(lambda: all_connected(world, api), timeout=60, interval=0.5)


async def all_connected(world: ChaosWorld, api: GatewayClient) -> bool:
    assert world.customer is not None, "the world's customer signs up first"
    status, body, _ = await api.request("GET", "/sessions", token=world.customer.token)
    return status == 200 and len(body["sessions"]) == SESSIONS and all(
        s["status"] == "CONNECTED" for s in body["sessions"])


async def all_ready(world: ChaosWorld) -> bool:
    processes = {**world.run.services, **world.run.workers}
    if not all(process.alive for process in processes.values()):
        return False
    answers = await ask_each(processes, "/readyz", timeout=3)
    return all(status == 200 for status, _ in answers.values())


def server_outage(server, *, down: float, kill: bool = False):
    """A fault for `chaos_round`: the private server stopped (SIGKILLed with `kill`), away for `down`
    seconds, then started again."""
    async def outage() -> None:
        await asyncio.to_thread(server.kill if kill else server.stop)
        await asyncio.sleep(down)
        await asyncio.to_thread(server.start)

    return outage


async def chaos_round(world: ChaosWorld, fault, *, warmup: float = 2.0, after: float = 3.0, period: float = 0.5,
                      sink: WebhookSink | None = None) -> dict:
    """Traffic starts, `await fault()` runs (it injects the fault and undoes it), traffic goes on for
    `after` seconds more on the healed platform, then the audit. Nothing else is dead-lettered, and every
    process is ready again at the end."""
    await wait_until(lambda: all_ready(world), timeout=90, interval=0.5)
    sink = sink or WebhookSink()
    await sink.start()
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(world.run.url("gateway"), http)
        assert world.customer is not None and world.keys is not None, "the world's sessions are set up first"
        token = world.customer.token
        await wait_until(lambda: all_connected(world, api), timeout=60, interval=0.5)
        dead_before = dead_letters(world.infra.rabbit)
        _, endpoint, _ = await api.request("POST", "/webhooks", token=token, expect=201,
                                           json={"url": sink.url, "events": ["message.sent", "message.received"]})
        traffic = Traffic(world.run, api, http, world.keys, period=period).start()
        try:
            await asyncio.sleep(warmup)
            await fault()
            await asyncio.sleep(after)
        finally:
            await traffic.stop()
        try:
            try:
                report = await audit(world.run, api, token, traffic, sink)
            except AssertionError:
                busy = [q for q in world.infra.rabbit.queues() if q.get("messages")]
                print(f"queues holding messages after the audit: {busy}")
                raise
            await wait_until(lambda: all_ready(world), timeout=60, interval=0.5)
            assert dead_letters(world.infra.rabbit) == dead_before, "messages were dead-lettered during the fault"
        finally:
            await api.request("DELETE", f"/webhooks/{endpoint['endpoint']['endpoint_id']}", token=token)
            await sink.stop()
    return report


async def times_declared_offline(world: ChaosWorld) -> dict[str, int]:
    """worker id -> how many times the registry has declared it offline (its record keeps the last ten)."""
    client: AsyncMongoClient = AsyncMongoClient(world.infra.mongo.uri)
    try:
        db = client[world.run.services["worker-registry"].env["MONGODB_DATABASE"]]
        return {doc["_id"]: len(doc.get("recent_offline_at", []))
                async for doc in db["workers"].find({}, {"recent_offline_at": 1})}
    finally:
        await client.close()
