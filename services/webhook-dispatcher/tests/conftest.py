"""The dispatcher in-process against the real local servers: a private vhost and database per test."""

from __future__ import annotations

import uuid

import pytest
from aiohttp.test_utils import TestServer
from pymongo import AsyncMongoClient

from harness.infra import MONGO_URI, create_vhost, delete_vhost, private_redis_url
from wagw_common.broker import Broker
from wagw_common.rpc import RpcClient
from wagw_common.settings import load
from wagw_webhook_dispatcher.app import create_app
from wagw_webhook_dispatcher.settings import Settings


@pytest.fixture
async def dispatcher():
    """The running dispatcher and a client broker (with RPC) on the same vhost."""
    vhost = await create_vhost("wagw-test-dispatcher")
    database = f"wagw_test_dispatcher_{uuid.uuid4().hex[:8]}"
    settings = load(Settings, {
        "AMQP_URL": vhost.amqp_url, "MONGODB_URI": MONGO_URI, "MONGODB_DATABASE": database, "REDIS_URL": private_redis_url(),
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "WEBHOOK_TIMEOUT_SECONDS": "3", "BROKER_MAX_ATTEMPTS": "5",
        "STARTUP_TIMEOUT_SECONDS": "10",
    })
    server = TestServer(create_app(settings))
    await server.start_server()
    client = Broker(vhost.amqp_url, source="test-client")
    await client.connect(startup_timeout=10)
    rpc = RpcClient(client, default_timeout=5)
    await rpc.start()
    try:
        yield client, rpc
    finally:
        await client.close()
        await server.close()
        mongo = AsyncMongoClient(MONGO_URI)
        await mongo.drop_database(database)
        await mongo.close()
        await delete_vhost(vhost)
