"""Fakes for what lies outside the gateway (MongoDB, Redis, the broker and the services behind it)
and a test client over the real routes, mounted on a bare app. The fake collection implements only
the operations and filters the stores use; test_stores_integration.py runs the same stores against
the real server."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from redis.exceptions import ConnectionError as RedisConnectionError
from wagw_common.errors import RemoteError
from wagw_common.http import correlation_middleware, error_middleware
from wagw_common.settings import load
from wagw_common.storage import utc_now
from wagw_common.tokens import Principal

from wagw_gateway.account_state import AccountStates
from wagw_gateway.api_keys import ApiKeyStore
from wagw_gateway.app import mount
from wagw_gateway.auth import issue_token
from wagw_gateway.dependencies import Gateway
from wagw_gateway.errors import api_error_middleware
from wagw_gateway.idempotency import IdempotencyStore
from wagw_gateway.login_guard import LoginGuard
from wagw_gateway.passwords import Passwords
from wagw_gateway.ratelimit import decide
from wagw_gateway.refresh_tokens import RefreshTokenStore
from wagw_gateway.settings import Settings
from wagw_gateway.usage import SendCounter
from wagw_gateway.users import UserStore

MAX_BODY_BYTES = 2048


def _matches(doc: dict, query: dict) -> bool:
    for key, want in query.items():
        if key == "$or":
            if not any(_matches(doc, sub) for sub in want):
                return False
        elif isinstance(want, dict) and want and all(k.startswith("$") for k in want):
            have = doc.get(key)
            for op, value in want.items():
                if op == "$lt" and not (have is not None and have < value):
                    return False
                if op == "$gt" and not (have is not None and have > value):
                    return False
                if op == "$ne" and have == value:
                    return False
                if op not in {"$lt", "$gt", "$ne"}:
                    raise NotImplementedError(op)
        elif want is None:
            if doc.get(key) is not None:
                return False
        elif doc.get(key) != want:
            return False
    return True


def _apply(doc: dict, update: dict) -> None:
    doc.update(copy.deepcopy(update.get("$set", {})))
    for key, by in update.get("$inc", {}).items():
        doc[key] = doc.get(key, 0) + by


class FakeCursor:
    def __init__(self, docs):
        self.docs = docs

    def sort(self, key, direction=1):
        self.docs.sort(key=lambda d: d.get(key), reverse=direction < 0)
        return self

    def skip(self, n):
        self.docs = self.docs[n:]
        return self

    def limit(self, n):
        self.docs = self.docs[:n]
        return self

    async def to_list(self, length=None):
        return self.docs


class _Result:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class FakeCollection:
    def __init__(self):
        self.docs: dict[Any, dict] = {}
        self.unique: list[str] = []

    async def create_index(self, keys, unique: bool = False, name: str | None = None, **_):
        fields = [keys] if isinstance(keys, str) else [k for k, _ in keys]
        if unique:
            self.unique.extend(fields)
        return name

    async def insert_one(self, doc: dict):
        if doc["_id"] in self.docs or any(
                other.get(f) == doc.get(f) for f in self.unique for other in self.docs.values()):
            raise DuplicateKeyError("E11000 duplicate key")
        self.docs[doc["_id"]] = copy.deepcopy(doc)
        return _Result(inserted_id=doc["_id"])

    async def find_one(self, query: dict, projection=None):
        return next((copy.deepcopy(d) for d in self.docs.values() if _matches(d, query)), None)

    async def find_one_and_update(self, query, update, return_document=ReturnDocument.BEFORE, upsert=False, **_):
        for doc in self.docs.values():
            if _matches(doc, query):
                before = copy.deepcopy(doc)
                _apply(doc, update)
                return copy.deepcopy(doc) if return_document == ReturnDocument.AFTER else before
        if upsert:
            doc = {k: v for k, v in query.items() if not k.startswith("$")}
            _apply(doc, {**update, "$set": {**update.get("$setOnInsert", {}), **update.get("$set", {})}})
            self.docs[doc["_id"]] = doc
            return copy.deepcopy(doc) if return_document == ReturnDocument.AFTER else None
        return None

    async def update_one(self, query, update, upsert=False):
        found = await self.find_one_and_update(query, update, upsert=upsert)
        return _Result(matched_count=int(found is not None))

    def find(self, query=None, projection=None):
        return FakeCursor([copy.deepcopy(d) for d in self.docs.values() if _matches(d, query or {})])

    async def count_documents(self, query):
        return sum(1 for d in self.docs.values() if _matches(d, query))

    async def delete_one(self, query):
        doc = await self.find_one(query)
        if doc is not None:
            del self.docs[doc["_id"]]
        return _Result(deleted_count=int(doc is not None))

    async def delete_many(self, query):
        doomed = [k for k, d in self.docs.items() if _matches(d, query)]
        for k in doomed:
            del self.docs[k]
        return _Result(deleted_count=len(doomed))


class FakeRedis:
    def __init__(self):
        self.values: dict[str, str] = {}
        self.ttls: dict[str, int | None] = {}
        self.broken = False

    def _check(self):
        if self.broken:
            raise RedisConnectionError("redis is down")

    async def get(self, key):
        self._check()
        return self.values.get(key)

    async def set(self, key, value, ex=None, nx=False, **_):
        self._check()
        if nx and key in self.values:
            return None
        self.values[key] = str(value)
        self.ttls[key] = ex
        return True

    async def incr(self, key):
        self._check()
        self.values[key] = str(int(self.values.get(key, 0)) + 1)
        return int(self.values[key])

    async def decr(self, key):
        self._check()
        self.values[key] = str(int(self.values.get(key, 0)) - 1)
        return int(self.values[key])

    async def delete(self, *keys):
        self._check()
        return sum(self.values.pop(k, None) is not None for k in keys)

    async def ttl(self, key):
        self._check()
        return self.ttls.get(key) or -1


class MemoryLimiter:
    """The rate limiter's behaviour without Redis (the Lua script is checked against Redis itself in
    test_stores_integration.py): fixed windows, nothing counted when a window is full."""

    def __init__(self, redis: FakeRedis):
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


class FakeRpc:
    """Answers each request type with a canned reply, a function of the data, or an exception."""

    def __init__(self):
        self.replies: dict[str, Any] = {}
        self.calls: list[tuple[str, dict]] = []

    async def call(self, request_type, data, *, subject=None, timeout=None):
        self.calls.append((request_type, data))
        reply = self.replies.get(request_type, RemoteError("unavailable", f"nobody answers {request_type}"))
        if isinstance(reply, BaseException):
            raise reply
        return reply(data) if callable(reply) else reply


class FakeBroker:
    def __init__(self):
        self.sent: list[tuple[str, dict, str | None]] = []
        self.events: list[tuple[str, dict, str | None]] = []
        self.failure: Exception | None = None

    async def send_command(self, command_type, data, *, subject=None, routing_key=None):
        if self.failure is not None:
            raise self.failure
        self.sent.append((command_type, data, subject))
        self.routing_keys = [*getattr(self, "routing_keys", []), routing_key or command_type]

    async def publish_event(self, event_type, data, *, subject=None):
        if self.failure is not None:
            raise self.failure
        self.events.append((event_type, data, subject))


@pytest.fixture
def settings() -> Settings:
    return load(Settings, environ={"MAX_BODY_BYTES": str(MAX_BODY_BYTES), "GATEWAY_ADMIN_EMAILS": "root@example.com"})


@pytest_asyncio.fixture
async def gateway(settings) -> Gateway:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # argon2id still, just fast
    redis = FakeRedis()
    users = UserStore(FakeCollection())
    gw = Gateway(
        settings=settings, passwords=Passwords(cheap), users=users, api_keys=ApiKeyStore(FakeCollection(), redis),
        idempotency=IdempotencyStore(FakeCollection()), rpc=FakeRpc(), commands=(broker := FakeBroker()), events=broker,
        refresh_tokens=RefreshTokenStore(FakeCollection()), accounts=AccountStates(users, redis),
        limiter=MemoryLimiter(redis), usage=SendCounter(FakeCollection(), redis),
        login_guard=LoginGuard(redis, max_failures=settings.login_max_failures, lockout_seconds=settings.login_lockout),
    )
    for store in (gw.users, gw.api_keys, gw.idempotency, gw.refresh_tokens):
        await store.ensure_indexes()
    return gw


@pytest_asyncio.fixture
async def client(gateway, settings):
    app = web.Application(middlewares=[correlation_middleware, error_middleware, api_error_middleware],
                          client_max_size=settings.max_body_bytes)
    mount(app, gateway)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


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
