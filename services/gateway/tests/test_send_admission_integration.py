"""`POST /send` admitted by the one-round-trip script, against the real Redis and MongoDB-compatible
server, beside the same request admitted by separate reads: every answer is the same (status, error,
rate-limit headers), and the script, not a fallback, gave it."""

import secrets
from dataclasses import replace

import pytest
import pytest_asyncio
from wagw_common import session_status, topology
from wagw_common.testing import InMemoryBroker, ScriptedRpc

from wagw_gateway import deps as gateway_deps
from wagw_gateway.account_state import state_of
from wagw_gateway.api_keys import hash_key
from wagw_gateway.ratelimit import api_key_limit, send_limit
from wagw_gateway.send_admission import COUNTED, MISS
from wagw_gateway.settings import SERVICE
from wagw_gateway.usage import counter_key, today
from wagw_gateway.users import User, new_user_id, stored_now

pytestmark = pytest.mark.integration

BODY = {"to": "628123456789", "text": "hello"}


class Recorded:
    """The real admission, noting each verdict."""

    def __init__(self, admission):
        self.admission, self.verdicts = admission, []

    async def admit(self, key, **kwargs):
        found = await self.admission.admit(key, **kwargs)
        self.verdicts.append(found.verdict if found else None)
        return found


class World:
    def __init__(self, settings, db, redis, serve_routes, caches_missed):
        self.settings, self.redis, self.serve_routes = settings, redis, serve_routes
        broker = InMemoryBroker(source=SERVICE)
        broker.hold(topology.COMMANDS, "message.send.#")
        self.at_once = gateway_deps.build(settings, db=db, redis=redis, broker=broker, rpc=ScriptedRpc())
        self.at_once = replace(self.at_once, send_admission=Recorded(self.at_once.send_admission))
        self.separately = replace(self.at_once, send_admission=caches_missed)
        self.tenant, self.session_id = new_user_id(), "s_" + secrets.token_hex(6)
        self.user = User(user_id=self.tenant, email=f"{self.tenant}@example.com", name=None,
                         password_hash="$argon2id$x", role="user", tier="BASIC", created_at=stored_now())
        self.keys: list[str] = []

    async def key(self, **grant) -> str:
        if grant:
            key, _ = await self.at_once.api_keys.create_user_key(tenant_id=self.tenant, name="k", **grant)
        else:
            key, _ = await self.at_once.api_keys.create(session_id=self.session_id, tenant_id=self.tenant)
        self.keys.append(key)
        await self.at_once.api_keys.lookup(key)  # cached, as after any earlier request
        return key

    def windows(self, key_id: str) -> list[str]:
        return [api_key_limit(key_id, self.settings).redis_key,
                send_limit(self.tenant, "BASIC", self.settings).redis_key, counter_key(self.tenant, today())]

    async def both(self, key: str, body=BODY) -> tuple:
        """The answer by separate reads, then by the script, each on fresh windows (`body`: JSON, or
        bytes sent as they are)."""
        sent = {"data": body, "headers": {"X-API-Key": key, "Content-Type": "application/json"}} if isinstance(
            body, bytes) else {"json": body, "headers": {"X-API-Key": key}}
        answers = []
        for deps in (self.separately, self.at_once):
            found = await deps.api_keys.lookup(key)
            if found is not None:
                await self.redis.delete(*self.windows(found.key_id))
            async with self.serve_routes(deps) as client:
                resp = await client.post("/api/v1/send", **sent)
                answers.append((resp.status, await resp.json(),
                                {k: v for k, v in resp.headers.items() if k.startswith(("RateLimit", "Retry-After"))}))
        return tuple(answers)


@pytest_asyncio.fixture
async def world(settings, db, redis, serve_routes, caches_missed):
    world = World(settings, db, redis, serve_routes, caches_missed)
    await world.at_once.users.add(world.user)
    await world.at_once.accounts.changed(world.user)
    yield world
    await redis.delete(world.at_once.accounts.cache_key(world.tenant), session_status.status_key(world.session_id),
                       *(f"gateway:api-key:{hash_key(k)}" for k in world.keys))
    for key in world.keys:
        found = await world.at_once.api_keys.lookup(key)
        if found is not None:
            await redis.delete(*world.windows(found.key_id))


async def same_answer(world, key, body=BODY) -> tuple:
    separately, at_once = await world.both(key, body)
    assert at_once == separately or (at_once[0] == separately[0] == 202 and at_once[2] == separately[2])
    assert world.at_once.send_admission.verdicts[-1] not in (MISS, None)  # the script decided
    return at_once


@pytest.mark.asyncio
@pytest.mark.parametrize("status, body, expected", [
    (None, BODY, 202),  # unknown: the orchestrator decides
    ("CONNECTED", BODY, 202),
    ("RECONNECTING", BODY, 202),
    ("DISCONNECTED", BODY, 409),
    ("DISCONNECTED", {**BODY, "queue": True}, 202),
    ("DELETED", {**BODY, "queue": True}, 404),
    ("CONNECTED", {"to": "628123456789"}, 422),
    ("DISCONNECTED", {"text": "no recipient"}, 422),  # the body is told before the session's status
])
async def test_a_send_gets_the_same_answer_either_way(world, status, body, expected):
    if status:
        await session_status.record(world.redis, world.session_id, status, 1)
    key = await world.key()
    answer = await same_answer(world, key, body)
    assert answer[0] == expected
    if expected == 202:
        assert world.at_once.send_admission.verdicts[-1] == COUNTED
        found = await world.at_once.api_keys.lookup(key)
        used = [await world.redis.get(name) for name in world.windows(found.key_id)]
        assert used == ["1", "1", "1"]  # the key's window, the tier's and today's usage: counted once


@pytest.mark.asyncio
async def test_refusals_before_the_body_get_the_same_answer(world):
    revoked = await world.key()
    found = await world.at_once.api_keys.lookup(revoked)
    await world.at_once.api_keys.revoke(world.tenant, found.key_id)
    assert (await same_answer(world, revoked, {"bad": "body"}))[0] == 401
    reader = await world.key(scopes=["messages:read"], session_id=world.session_id)
    assert (await same_answer(world, reader))[1]["error"]["code"] == "insufficient_scope"
    unbound = await world.key(scopes=["messages:send"], session_id=None)
    assert (await same_answer(world, unbound))[1]["error"]["code"] == "forbidden"
    key = await world.key()
    await world.at_once.accounts.changed(replace(world.user, active=False))
    assert (await same_answer(world, key))[1]["error"]["message"] == "the key's account is deactivated"
    await world.at_once.accounts.changed(world.user)
    assert (await same_answer(world, key, b"{not json"))[0] == 400


@pytest.mark.asyncio
async def test_a_full_window_refuses_either_way_and_counts_nothing(world):
    key = await world.key()
    found = await world.at_once.api_keys.lookup(key)
    rate = send_limit(world.tenant, "BASIC", world.settings)
    for deps in (world.separately, world.at_once):
        await world.redis.set(rate.redis_key, rate.limit, ex=60)
        async with world.serve_routes(deps) as client:
            resp = await client.post("/api/v1/send", json=BODY, headers={"X-API-Key": key})
            assert resp.status == 429 and (await resp.json())["error"]["details"]["limit"] == "send"
            assert resp.headers["RateLimit-Remaining"] == "0" and "Retry-After" in resp.headers
        assert await world.redis.get(api_key_limit(found.key_id, world.settings).redis_key) is None
    assert world.at_once.send_admission.verdicts[-1] == COUNTED


@pytest.mark.asyncio
async def test_what_the_caches_miss_goes_the_way_of_separate_reads_which_fills_them(world):
    key = await world.key()
    await world.redis.delete(f"gateway:api-key:{hash_key(key)}", world.at_once.accounts.cache_key(world.tenant))
    async with world.serve_routes(world.at_once) as client:
        for _ in range(2):
            resp = await client.post("/api/v1/send", json=BODY, headers={"X-API-Key": key})
            assert resp.status == 202
    assert world.at_once.send_admission.verdicts == [MISS, COUNTED]
    assert await world.redis.get(world.at_once.accounts.cache_key(world.tenant)) is not None
    assert state_of(world.user).active
