"""The gateway's stores against the real MongoDB-compatible server and Redis (skipped when they are
not running): the operations and filters the unit tests fake, checked for real."""

import os
import secrets
from datetime import timedelta

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError
from wagw_common.storage import utc_now

from wagw_gateway.api_keys import ApiKeyStore, hash_key
from wagw_gateway.idempotency import ABANDONED_AFTER, IdempotencyStore, Outcome
from wagw_gateway.users import EmailTaken, User, UserStore, new_user_id, stored_now

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def db():
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
    client = aioredis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    try:
        await client.ping()
    except (RedisError, OSError):
        pytest.skip("no Redis running")
    yield client
    await client.aclose()


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
