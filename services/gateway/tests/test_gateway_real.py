"""The gateway in-process against the local RabbitMQ, Redis, MongoDB-compatible server and media
store, a fresh vhost and database per test: what `create_app` opens and declares (its queues bound to
what its router handles, the worker asker's reply queue, the media bucket) and the messages it
consumes, asked and published as the other services do."""

from __future__ import annotations

import asyncio
import secrets
import urllib.parse

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient
from wagw_common import topology
from wagw_common.broker import Broker
from wagw_common.contracts.identity import api_key_digest
from wagw_common.errors import RemoteError
from wagw_common.rpc import RpcClient
from wagw_common.settings import load
from harness.infra import AUTH_HEADERS, MONGO_URI, OBJECT_STORE_URL, create_vhost, delete_vhost, redis_database

from wagw_gateway.deps import GATEWAY
from wagw_gateway.app import create_app
from wagw_gateway.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

PASSWORD = "correct horse battery"


@pytest_asyncio.fixture
async def vhost():
    created = await create_vhost("wagw-test-gateway")
    yield created
    await delete_vhost(created)


@pytest_asyncio.fixture
async def gateway(vhost):
    """The running gateway (a test server) and its dependencies."""
    database = f"wagw_test_gateway_{secrets.token_hex(4)}"
    with redis_database() as redis_url:
        settings = load(Settings, {
            "AMQP_URL": vhost.amqp_url, "MONGODB_URI": MONGO_URI, "MONGODB_DATABASE": database,
            "REDIS_URL": redis_url, "OBJECT_STORE_URL": OBJECT_STORE_URL,
            "MEDIA_BUCKET": f"t-gateway-{secrets.token_hex(4)}", "STARTUP_TIMEOUT_SECONDS": "10",
        })
        server = TestServer(create_app(settings))
        await server.start_server()
        try:
            yield server, server.app[GATEWAY]
        finally:
            await server.close()
            client = AsyncMongoClient(MONGO_URI)
            await client.drop_database(database)
            await client.close()


@pytest_asyncio.fixture
async def realtime(vhost):
    """Another service's broker connection: it asks the gateway and publishes domain events."""
    broker = Broker(vhost.amqp_url, source="realtime")
    await broker.connect(10)
    rpc = RpcClient(broker, default_timeout=5)
    await rpc.start()
    yield broker, rpc
    await broker.close()


async def bindings(vhost, queue: str) -> set[tuple[str, str]]:
    async with aiohttp.ClientSession(headers=AUTH_HEADERS) as http:
        response = await http.get(vhost.api(f"queues/{{vhost}}/{urllib.parse.quote(queue, safe='')}/bindings"))
        response.raise_for_status()
        return {(b["source"], b["routing_key"]) for b in await response.json() if b["source"]}


async def queue_names(vhost) -> list[str]:
    async with aiohttp.ClientSession(headers=AUTH_HEADERS) as http:
        response = await http.get(vhost.api("queues/{vhost}"), params={"columns": "name"})
        response.raise_for_status()
        return [q["name"] for q in await response.json()]


async def test_its_queues_are_bound_to_what_its_router_handles(gateway, vhost):
    assert await bindings(vhost, topology.GATEWAY_QUERIES.name) == {
        (topology.COMMANDS, "apikey.resolve"), (topology.COMMANDS, "account.standing")}
    assert await bindings(vhost, topology.GATEWAY_SESSION_EVENTS.name) == {(topology.EVENTS, "session.deleted")}
    # The worker asker started: its private reply queue is bound on the uplink.
    assert any(name.startswith("worker-query-reply.") for name in await queue_names(vhost))


async def test_it_answers_identity_questions_and_revokes_a_deleted_sessions_keys(gateway, realtime):
    server, deps = gateway
    broker, rpc = realtime
    async with aiohttp.ClientSession(base_url=str(server.make_url(""))) as http:
        registered = await http.post("/api/v1/auth/register", json={"email": "alice@example.com", "password": PASSWORD})
        assert registered.status == 201, await registered.text()
        user_id = (await registered.json())["user"]["user_id"]
    key, _ = await deps.api_keys.create(session_id="s_1", tenant_id=user_id)

    assert await rpc.call("account.standing", {"user_id": user_id}) == {
        "user_id": user_id, "active": True, "token_generation": 0}
    found = await rpc.call("apikey.resolve", {"key_hash": api_key_digest(key)})
    assert (found["tenant_id"], found["session_id"]) == (user_id, "s_1")

    await broker.publish_event("session.deleted", {"tenant_id": user_id, "session_id": "s_1", "sequence": 1},
                               subject="s_1")
    async with asyncio.timeout(10):
        while await deps.api_keys.lookup(key) is not None:
            await asyncio.sleep(0.1)
    with pytest.raises(RemoteError) as revoked:
        await rpc.call("apikey.resolve", {"key_hash": api_key_digest(key)})
    assert revoked.value.code == "not_found"


async def test_the_media_store_is_open_for_the_apps_lifetime(gateway):
    _, deps = gateway
    await deps.media.store.put("outbound/t/check", b"hello", "text/plain")
    assert await deps.media.store.get("outbound/t/check") == (b"hello", "text/plain")
