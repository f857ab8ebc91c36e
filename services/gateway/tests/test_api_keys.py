"""Session API keys: hashing, storage without the key itself, the cached lookup, and use on /send."""

import hashlib
import json

import pytest

from wagw_gateway.api_keys import CACHE_TTL_SECONDS, KEY_PREFIX, hash_key, looks_like_key, new_key

pytestmark = pytest.mark.unit


def test_keys_are_prefixed_random_and_hashed_with_sha256():
    key = new_key()
    assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 48 and key != new_key()
    assert hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert looks_like_key(key) and not looks_like_key("sk_live_123") and not looks_like_key(KEY_PREFIX + "x" * 200)


@pytest.mark.asyncio
async def test_only_the_hash_and_a_short_prefix_are_stored(gateway):
    store = gateway.api_keys
    collection = store.collection
    await store.ensure_indexes()
    key, record = await store.create(session_id="s_1", tenant_id="u_1")
    doc = collection.docs[record.key_id]
    assert doc["hash"] == hash_key(key) and doc["prefix"] == key[:12] and doc["revoked"] is False
    assert doc["session_id"] == "s_1" and doc["tenant_id"] == "u_1" and doc["last_used_at"] is None
    assert key not in json.dumps(doc, default=str)
    assert "hash" in collection.unique


@pytest.mark.asyncio
async def test_lookup_reads_mongo_once_then_the_cache(gateway):
    store = gateway.api_keys
    collection, redis = store.collection, store.redis
    key, record = await store.create(session_id="s_1", tenant_id="u_1")
    assert await store.lookup(key) == record
    cached = redis.values[f"gateway:api-key:{hash_key(key)}"]
    assert key not in cached and json.loads(cached)["session_id"] == "s_1"
    collection.docs.clear()  # the cache answers now (for at most CACHE_TTL_SECONDS)
    assert await store.lookup(key) == record
    assert CACHE_TTL_SECONDS == 60


@pytest.mark.asyncio
async def test_unknown_and_revoked_keys_are_not_found(gateway):
    store = gateway.api_keys
    collection = store.collection
    key, record = await store.create(session_id="s_1", tenant_id="u_1")
    assert await store.lookup(new_key()) is None
    collection.docs[record.key_id]["revoked"] = True
    assert await store.lookup(key) is None


@pytest.mark.asyncio
async def test_redis_down_falls_back_to_mongo(gateway):
    store = gateway.api_keys
    redis = store.redis
    key, record = await store.create(session_id="s_1", tenant_id="u_1")
    redis.broken = True
    assert await store.lookup(key) == record


@pytest.mark.asyncio
async def test_send_accepts_the_key_in_either_header(client, gateway, expect_error):
    key, record = await gateway.api_keys.create(session_id="s_1", tenant_id="u_1")
    body = {"to": "628123456789", "text": "hi"}
    assert (await client.post("/api/v1/send", json=body, headers={"X-API-Key": key})).status == 202
    assert (await client.post("/api/v1/send", json=body, headers={"Authorization": f"Bearer {key}"})).status == 202
    await expect_error(await client.post("/api/v1/send", json=body), 401, "unauthorized")
    await expect_error(await client.post("/api/v1/send", json=body, headers={"X-API-Key": new_key()}),
                       401, "unauthorized")
    await expect_error(await client.post("/api/v1/send", json=body, headers={"X-API-Key": "abc"}), 401, "unauthorized")
