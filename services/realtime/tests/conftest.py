"""Realtime replicas in-process on real ports, against a private RabbitMQ vhost per test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestServer

from harness.infra import create_vhost, delete_vhost, private_redis_url
from wagw_common.broker import Broker
from wagw_common.settings import load
from wagw_common.tokens import Principal, issue_access_token
from wagw_realtime.app import create_app
from wagw_realtime.settings import Settings


@pytest.fixture
async def vhost():
    vhost = await create_vhost("wagw-test-realtime")
    yield vhost
    await delete_vhost(vhost)


@pytest.fixture
def settings(vhost) -> Settings:
    return load(Settings, {"AMQP_URL": vhost.amqp_url, "REDIS_URL": private_redis_url(), "STARTUP_TIMEOUT_SECONDS": "10"})


@pytest.fixture
async def start_replica(settings):
    """Starts realtime replicas (each a full app on its own port); returns their base URLs."""
    servers = []

    async def start() -> str:
        server = TestServer(create_app(settings))
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in reversed(servers):
        await server.close()


@pytest.fixture
async def broker(vhost):
    broker = Broker(vhost.amqp_url, source="test-client")
    await broker.connect(startup_timeout=10)
    yield broker
    await broker.close()


@pytest.fixture
def token_for(settings):
    def issue(user_id: str, role: str = "user", ttl: timedelta = timedelta(minutes=5)) -> str:
        return issue_access_token(Principal(user_id, role, "BASIC"), secret=settings.jwt_secret,
                                  issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=ttl)

    return issue
