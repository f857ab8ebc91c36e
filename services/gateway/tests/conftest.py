"""Doubles for what lies outside the gateway (MongoDB, Redis, the broker and the services behind it)
from `wagw_common.testing`, the gateway's own dependencies built on them, and a test client over the
real routes, mounted on a bare app. The in-memory collections implement only the operations and
filters the stores use; test_stores_integration.py runs the same stores against the real server."""

from __future__ import annotations

import os
import secrets
from contextlib import asynccontextmanager

import pytest
import pytest_asyncio
from aiohttp import web
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError
from wagw_common import topology
from wagw_common.envelope import Envelope
from wagw_common.http import correlation_middleware, error_middleware
from wagw_common.settings import load
from wagw_common.storage import utc_now
from wagw_common.testing import InMemoryBroker, MemoryDatabase, MemoryRedis, ScriptedRpc
from wagw_common.tokens import Principal

from wagw_gateway import deps as gateway_deps
from wagw_gateway.app import mount
from wagw_gateway.auth import issue_token
from wagw_gateway.deps import Deps
from wagw_gateway.errors import api_error_middleware
from wagw_gateway.passwords import Passwords
from wagw_gateway.ratelimit import decide
from wagw_gateway.send_admission import MISS, Admission
from wagw_gateway.settings import SERVICE, Settings

MAX_BODY_BYTES = 2048


class MemoryLimiter:
    """The rate limiter's behaviour without Redis (the Lua script is checked against Redis itself in
    test_stores_integration.py): fixed windows, nothing counted when a window is full."""

    def __init__(self, redis: MemoryRedis):
        self.redis = redis
        self.windows: dict[str, list] = {}  # key -> [used, resets_at]
        self.now = 0.0

    async def hit(self, limits, *, counters=()):
        if self.redis.broken:
            return None
        for limit in limits:
            window = self.windows.get(limit.redis_key)
            if window is None or window[1] <= self.now:
                self.windows[limit.redis_key] = [0, self.now + limit.window]
        state = [(self.windows[lim.redis_key][0], int((self.windows[lim.redis_key][1] - self.now) * 1000))
                 for lim in limits]
        full = next((i + 1 for i, lim in enumerate(limits) if state[i][0] >= lim.limit), 0)
        if not full:
            for lim in limits:
                self.windows[lim.redis_key][0] += 1
            state = [(used + 1, pttl) for used, pttl in state]
            for counter in counters:
                await self.redis.incr(counter)
        return decide(list(limits), full, state)


class CachesMissed:
    """The one-round-trip admission of `POST /send` when Redis holds neither the key nor its account:
    every send goes the way of separate reads, which these tests cover. The script itself is checked
    against Redis, beside that way, in test_send_admission_integration.py."""

    async def admit(self, key, **_):
        return Admission(MISS)


@pytest.fixture
def settings() -> Settings:
    return load(Settings, environ={"MAX_BODY_BYTES": str(MAX_BODY_BYTES), "GATEWAY_ADMIN_EMAILS": "root@example.com"})


@pytest.fixture
def broker() -> InMemoryBroker:
    """The gateway's broker; its commands wait in a queue nobody consumes (`sent_commands`)."""
    broker = InMemoryBroker(source=SERVICE)
    broker.hold(topology.COMMANDS, "message.send.#")
    return broker


@pytest_asyncio.fixture
async def gateway(settings, broker) -> Deps:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2id still, just fast
    redis = MemoryRedis()
    deps = gateway_deps.build(settings, db=MemoryDatabase(), redis=redis, broker=broker, rpc=ScriptedRpc(),
                              passwords=Passwords(cheap), limiter=MemoryLimiter(redis),
                              send_admission=CachesMissed())
    for store in (deps.users, deps.api_keys, deps.idempotency, deps.refresh_tokens):
        await store.ensure_indexes()
    return deps


@asynccontextmanager
async def routes_on(deps: Deps, max_body_bytes: int = MAX_BODY_BYTES):
    """A test client of the gateway's routes over `deps`."""
    app = web.Application(middlewares=[correlation_middleware, error_middleware, api_error_middleware],
                          client_max_size=max_body_bytes)
    mount(app, deps)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest_asyncio.fixture
async def client(gateway, settings):
    async with routes_on(gateway, settings.max_body_bytes) as test_client:
        yield test_client


def _described(envelopes: list[Envelope]) -> list[tuple[str, dict, str | None]]:
    return [(e.type, e.data, e.subject) for e in envelopes]


@pytest.fixture
def sent_commands(gateway):
    """(type, data, subject) of every command the gateway has put on the broker so far."""
    return lambda: _described(gateway.broker.sent(topology.COMMANDS))


@pytest.fixture
def published_events(gateway):
    """(type, data, subject) of every event the gateway has published so far."""
    return lambda: _described(gateway.broker.events())


def add_account(gateway, user_id: str, role: str = "user", tier: str = "BASIC", **fields) -> dict:
    """An account in the fake users collection, as registration would store it."""
    doc = {"_id": user_id, "email": f"{user_id}@example.com", "name": None, "password_hash": "$argon2id$x",
           "role": role, "tier": tier, "created_at": utc_now(), "active": True, "token_generation": 0, **fields}
    gateway.users.collection.docs.setdefault(user_id, doc)
    return gateway.users.collection.docs[user_id]


@pytest.fixture
def token_for(settings, gateway):
    """An access token for `user_id`, whose account is created if missing."""
    def make(user_id: str = "u_alice", role: str = "user", tier: str = "BASIC") -> str:
        account = add_account(gateway, user_id, role, tier)
        return issue_token(Principal(user_id=user_id, role=account["role"], tier=account["tier"],
                                     generation=account["token_generation"]), settings)

    return make


@pytest.fixture
def auth(token_for):
    def headers(user_id: str = "u_alice", role: str = "user") -> dict:
        return {"Authorization": f"Bearer {token_for(user_id, role)}"}

    return headers


async def assert_error(resp, status: int, code: str) -> dict:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def expect_error():
    return assert_error


@pytest.fixture
def key_for(gateway):
    """A session API key of `session_id`, owned by `tenant_id` (whose account is created if missing)."""
    async def make(session_id: str = "s_1", tenant_id: str = "u_1") -> str:
        add_account(gateway, tenant_id)
        key, _ = await gateway.api_keys.create(session_id=session_id, tenant_id=tenant_id)
        return key

    return make


@pytest.fixture
def caches_missed():
    """The admission of `POST /send` that leaves every send to the way of separate reads."""
    return CachesMissed()


@pytest.fixture
def serve_routes():
    """`async with serve_routes(deps) as client`: the routes over other dependencies than `gateway`'s."""
    return routes_on


@pytest_asyncio.fixture
async def db():
    """A fresh database on the real MongoDB-compatible server (integration tests; skipped without it)."""
    client = AsyncMongoClient(os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/"), tz_aware=True,
                              serverSelectionTimeoutMS=2000)
    try:
        await client.admin.command("ping")
    except PyMongoError:
        await client.close()
        pytest.skip("no MongoDB-compatible server running")
    name = f"wagw_gateway_test_{secrets.token_hex(4)}"
    yield client[name]
    await client.drop_database(name)
    await client.close()


@pytest_asyncio.fixture
async def redis():
    """The real Redis (integration tests; skipped without it)."""
    client = aioredis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    try:
        await client.ping()
    except (RedisError, OSError):
        pytest.skip("no Redis running")
    yield client
    await client.aclose()
