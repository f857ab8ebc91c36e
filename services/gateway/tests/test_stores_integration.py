"""The gateway's stores against the real MongoDB-compatible server and Redis (`db` and `redis`, skipped
when they are not running): the operations and filters the unit tests fake, checked for real."""

import asyncio
import secrets
from datetime import timedelta

import pytest
from pymongo.errors import PyMongoError
from wagw_common.storage import utc_now

from wagw_gateway.account_state import AccountStates, state_of
from wagw_gateway.api_keys import ApiKeyStore, hash_key
from wagw_gateway.idempotency import ABANDONED_AFTER, IdempotencyStore, Outcome
from wagw_gateway.ratelimit import Limit, RateLimiter
from wagw_gateway.refresh_tokens import RefreshRefused, RefreshTokenStore
from wagw_gateway.usage import SendCounter, counter_key
from wagw_gateway.users import EmailTaken, User, UserStore, new_user_id, stored_now

pytestmark = pytest.mark.integration


def _user(email: str) -> User:
    return User(user_id=new_user_id(), email=email, name=None, password_hash="$argon2id$x", role="user", tier="BASIC",
                created_at=stored_now())


@pytest.mark.asyncio
async def test_users_have_unique_emails(db):
    store = UserStore(db["users"])
    await store.ensure_indexes()
    user = _user("alice@example.com")
    await store.add(user)
    with pytest.raises(EmailTaken):
        await store.add(_user("alice@example.com"))
    assert await store.by_email(" ALICE@example.com") == user == await store.by_id(user.user_id)
    await store.set_password_hash(user.user_id, "$argon2id$y")
    assert (await store.by_id(user.user_id)).password_hash == "$argon2id$y"


@pytest.mark.asyncio
async def test_api_keys_lookup_cache_and_touch(db, redis):
    store = ApiKeyStore(db["api_keys"], redis)
    await store.ensure_indexes()
    key, record = await store.create(session_id="s_1", tenant_id="u_1")
    try:
        assert await store.lookup(key) == record
        assert 0 < await redis.ttl(f"gateway:api-key:{hash_key(key)}") <= 60
        await store._touch(record.key_id)
        first = (await db["api_keys"].find_one({"_id": record.key_id}))["last_used_at"]
        assert first is not None
        await store._touch(record.key_id)  # within the minute: left alone
        assert (await db["api_keys"].find_one({"_id": record.key_id}))["last_used_at"] == first
        earlier = first - timedelta(minutes=2)
        await db["api_keys"].update_one({"_id": record.key_id}, {"$set": {"last_used_at": earlier}})
        await store._touch(record.key_id)
        assert (await db["api_keys"].find_one({"_id": record.key_id}))["last_used_at"] > first
        with pytest.raises(PyMongoError):  # the hash index is unique
            await db["api_keys"].insert_one({"_id": "k_dup", "hash": hash_key(key)})
    finally:
        await redis.delete(f"gateway:api-key:{hash_key(key)}")


@pytest.mark.asyncio
async def test_idempotency_claims(db):
    store = IdempotencyStore(db["idempotency"])
    await store.ensure_indexes()
    assert (await store.claim("k_1", "key", "h1", {"message_id": "m_1"})).outcome is Outcome.NEW
    assert (await store.claim("k_1", "key", "h1", {"message_id": "m_2"})).outcome is Outcome.BUSY
    assert (await store.claim("k_1", "key", "h2", {})).outcome is Outcome.MISMATCH
    await db["idempotency"].update_one({"_id": "k_1:key"},
                                       {"$set": {"claimed_at": utc_now() - ABANDONED_AFTER - timedelta(seconds=1)}})
    resumed = await store.claim("k_1", "key", "h1", {"message_id": "m_3"})
    assert resumed.outcome is Outcome.RESUME and resumed.reserved == {"message_id": "m_1"}
    await store.complete("k_1", "key", 202, {"message_id": "m_1", "status": "queued"})
    replay = await store.claim("k_1", "key", "h1", {})
    assert replay.outcome is Outcome.REPLAY and replay.response["body"]["message_id"] == "m_1"
    await db["idempotency"].update_one({"_id": "k_1:key"}, {"$set": {"created_at": utc_now() - timedelta(days=2)}})
    assert (await store.claim("k_1", "key", "h9", {"message_id": "m_9"})).outcome is Outcome.NEW
    await db["idempotency"].update_one({"_id": "k_1:key"}, {"$set": {"created_at": utc_now() - timedelta(days=2)}})
    assert await store.purge_expired() == 1


@pytest.mark.asyncio
async def test_rate_limit_script_counts_refuses_and_resets(redis):
    limiter = RateLimiter(redis)
    subject = secrets.token_hex(4)
    tight, loose = Limit("t-tight", subject, 2, window=2), Limit("t-loose", subject, 100, window=60)
    counter = f"gateway:test-counter:{subject}"
    try:
        first = await limiter.hit([tight, loose], counters=(counter,))
        assert first.allowed and (first.limit, first.remaining) == (2, 1) and 0 < first.reset <= 2
        assert (await limiter.hit([tight, loose], counters=(counter,))).remaining == 0
        refused = await limiter.hit([tight, loose], counters=(counter,))
        assert not refused.allowed and refused.scope == "t-tight" and refused.headers()["Retry-After"]
        # A refusal counts against nothing: neither the other window nor the counter.
        assert int(await redis.get(loose.redis_key)) == 2 and int(await redis.get(counter)) == 2
        assert 0 < await redis.pttl(tight.redis_key) <= 2000 and await redis.ttl(counter) > 86_000
        await asyncio.sleep(2.1)
        assert (await limiter.hit([tight, loose])).allowed
    finally:
        await redis.delete(tight.redis_key, loose.redis_key, counter)


@pytest.mark.asyncio
async def test_rate_limit_script_is_atomic_under_concurrency(redis):
    limiter = RateLimiter(redis)
    limit = Limit("t-burst", secrets.token_hex(4), 25)
    try:
        decisions = await asyncio.gather(*(limiter.hit([limit]) for _ in range(60)))
        assert sum(d.allowed for d in decisions) == 25
    finally:
        await redis.delete(limit.redis_key)


@pytest.mark.asyncio
async def test_refresh_token_rotation_is_compare_and_set(db):
    store = RefreshTokenStore(db["refresh_tokens"])
    await store.ensure_indexes()
    ttl = timedelta(days=1)
    first = await store.start_family("u_1", 0, ttl)
    results = await asyncio.gather(*(store.rotate(first, ttl) for _ in range(5)), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1  # the others are reuse: the family is revoked
    family, second = winners[0]
    assert family.user_id == "u_1" and family.token_generation == 0
    with pytest.raises(RefreshRefused):
        await store.rotate(second, ttl)
    third = await store.start_family("u_1", 0, timedelta(seconds=-1))  # born expired
    with pytest.raises(RefreshRefused, match="expired"):
        await store.rotate(third, ttl)
    await db["refresh_tokens"].update_one({"_id": family.family_id},
                                          {"$set": {"expires_at": utc_now() - timedelta(days=2)}})
    assert await store.purge_expired() == 1


@pytest.mark.asyncio
async def test_account_state_cache_is_overwritten_on_change_and_filled_only_if_absent(db, redis):
    users = UserStore(db["users"])
    user = _user(f"{secrets.token_hex(4)}@example.com")
    await users.add(user)
    states = AccountStates(users, redis)
    try:
        assert (await states.get(user.user_id)).active is True
        changed = await users.update(user.user_id, {"active": False, "tier": "MAX"}, end_logins=True)
        assert changed.token_generation == 1
        assert (await states.get(user.user_id)).active is True  # cached, until told
        await states.changed(changed)
        await states._write(user.user_id, state_of(user), only_if_absent=True)  # a late fill loses
        state = await states.get(user.user_id)
        assert (state.active, state.tier, state.token_generation) == (False, "MAX", 1)
        assert await states.get("u_nobody") is None
    finally:
        await redis.delete(f"gateway:account:{user.user_id}", "gateway:account:u_nobody")


@pytest.mark.asyncio
async def test_user_pages_and_api_key_management(db, redis):
    users = UserStore(db["users"])
    await users.ensure_indexes()
    for n in range(3):
        await users.add(_user(f"user{n}@example.com"))
    page, total = await users.page(email=None, limit=2, offset=1)
    assert total == 3 and [u.email for u in page] == ["user1@example.com", "user2@example.com"]
    found, _ = await users.page(email="USER2@example.com", limit=5, offset=0)
    assert [u.email for u in found] == ["user2@example.com"]

    keys = ApiKeyStore(db["api_keys"], redis)
    await keys.ensure_indexes()
    session_key, granted = await keys.create(session_id="s_1", tenant_id="u_1")
    user_key, doc = await keys.create_user_key(tenant_id="u_1", name="ci", scopes=["messages:send"], session_id=None)
    try:
        assert [d["_id"] for d in await keys.list("u_1")] == [granted.key_id, doc["_id"]]
        assert (await keys.session_key("u_1", "s_1"))["_id"] == granted.key_id
        assert (await keys.lookup(user_key)).scopes == ("messages:send",)
        rotated, _ = await keys.rotate("u_1", doc["_id"])
        assert await keys.lookup(user_key) is None and (await keys.lookup(rotated)).key_id == doc["_id"]
        assert await keys.revoke("u_1", granted.key_id) and await keys.lookup(session_key) is None
        assert [d["_id"] for d in await keys.list("u_1")] == [doc["_id"]]
    finally:
        await redis.delete(*(f"gateway:api-key:{hash_key(k)}" for k in (session_key, user_key)))


@pytest.mark.asyncio
async def test_send_counts_reach_mongodb(db, redis):
    counter = SendCounter(db["usage"], redis)
    tenant = "u_" + secrets.token_hex(4)
    try:
        for _ in range(3):
            await redis.incr(counter_key(tenant, "2026-01-01"))
            counter.counted(tenant, "2026-01-01")
        await counter.flush()
        counter.counted(tenant, "2026-01-01")
        await redis.incr(counter_key(tenant, "2026-01-01"))
        await counter.flush()
        assert (await db["usage"].find_one({"_id": f"{tenant}:2026-01-01"}))["sent"] == 4
        await redis.delete(counter_key(tenant, "2026-01-01"))  # Redis lost it: MongoDB still knows
        assert await counter.sent_on(tenant, "2026-01-01") == 4
    finally:
        await redis.delete(counter_key(tenant, "2026-01-01"))
