"""API keys: hashing, storage without the key itself, the cached lookup with tombstones, user keys
with scopes and a session restriction, listing, revocation and rotation."""

import hashlib
import json

import pytest

from wagw_gateway.api_keys import (
    CACHE_TTL_SECONDS, KEY_PREFIX, USER_KEY_PREFIX, ApiKey, hash_key, looks_like_key, new_key,
)

pytestmark = pytest.mark.unit

KEYS = "/api/v1/api-keys"
SEND = {"to": "628123456789", "text": "hi"}
VIEW = {"session_id": "s_1", "tenant_id": "u_alice", "name": "Support", "description": "", "status": "CONNECTED",
        "worker_id": "w-1", "qr": None, "qr_expires_at": None, "phone": None,
        "created_at": "2026-01-01T12:00:00Z", "updated_at": "2026-01-01T12:00:00Z"}


def test_keys_are_prefixed_random_and_hashed_with_sha256():
    key = new_key()
    assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 48 and key != new_key()
    assert hash_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert looks_like_key(key) and looks_like_key(new_key(USER_KEY_PREFIX))
    assert not looks_like_key("sk_live_123") and not looks_like_key(KEY_PREFIX + "x" * 200)


async def test_only_the_hash_and_a_short_prefix_are_stored(gateway):
    store = gateway.api_keys
    collection = store.collection
    key, record = await store.create(session_id="s_1", tenant_id="u_1")
    doc = collection.docs[record.key_id]
    assert doc["hash"] == hash_key(key) and doc["prefix"] == key[:12] and doc["revoked"] is False
    assert doc["session_id"] == "s_1" and doc["tenant_id"] == "u_1" and doc["last_used_at"] is None
    assert doc["kind"] == "session" and doc["scopes"] == ["*"]
    assert key not in json.dumps(doc, default=str)
    assert "hash" in collection.unique


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


async def test_unknown_keys_are_not_cached(gateway):
    assert await gateway.api_keys.lookup(new_key()) is None
    assert gateway.api_keys.redis.values == {}


async def test_revoking_drops_the_cached_key_at_once(gateway):
    store = gateway.api_keys
    key, record = await store.create(session_id="s_1", tenant_id="u_1")
    assert await store.lookup(key) is not None  # cached now
    assert await store.revoke("u_2", record.key_id) is False  # not theirs
    assert await store.revoke("u_1", record.key_id) is True
    assert await store.lookup(key) is None
    # A fill that read MongoDB before the revocation cannot bring it back (SET NX over the tombstone).
    await store._cache_set(hash_key(key), json.dumps({"key_id": "k"}), only_if_absent=True)
    assert await store.lookup(key) is None


async def test_rotation_keeps_the_key_and_retires_the_old_secret(gateway):
    store = gateway.api_keys
    old, record = await store.create(session_id="s_1", tenant_id="u_1")
    await store.lookup(old)
    assert await store.rotate("u_2", record.key_id) is None
    new, doc = await store.rotate("u_1", record.key_id)
    assert new != old and doc["_id"] == record.key_id and doc["rotated_at"] is not None
    assert await store.lookup(old) is None and await store.lookup(new) == record


async def test_redis_down_falls_back_to_mongo(gateway):
    store = gateway.api_keys
    key, record = await store.create(session_id="s_1", tenant_id="u_1")
    store.redis.broken = True
    assert await store.lookup(key) == record


def test_scopes_of_session_and_user_keys():
    session_key = ApiKey("k_1", "u_1", "s_1")
    assert session_key.allows("messages:send") and session_key.allows("sessions:write")
    user_key = ApiKey("k_2", "u_1", None, ("sessions:read",), "user")
    assert user_key.allows("sessions:read") and not user_key.allows("messages:send")


async def test_send_accepts_the_key_in_either_header(client, key_for, expect_error):
    key = await key_for()
    assert (await client.post("/api/v1/send", json=SEND, headers={"X-API-Key": key})).status == 202
    assert (await client.post("/api/v1/send", json=SEND, headers={"Authorization": f"Bearer {key}"})).status == 202
    await expect_error(await client.post("/api/v1/send", json=SEND), 401, "unauthorized")
    await expect_error(await client.post("/api/v1/send", json=SEND, headers={"X-API-Key": new_key()}),
                       401, "unauthorized")
    await expect_error(await client.post("/api/v1/send", json=SEND, headers={"X-API-Key": "abc"}), 401, "unauthorized")


async def _create(client, auth, **body):
    return await client.post(KEYS, json={"name": "reporting", "scopes": ["sessions:read"], **body}, headers=auth())


async def test_user_keys_are_shown_once_listed_by_prefix_and_scoped(client, gateway, auth, expect_error):
    gateway.rpc.replies["session.list"] = {"sessions": [VIEW]}
    resp = await _create(client, auth)
    assert resp.status == 201
    issued = await resp.json()
    key = issued["api_key"]
    assert key.startswith(USER_KEY_PREFIX) and issued["key"]["prefix"] == key[:12]
    assert issued["key"]["scopes"] == ["sessions:read"] and issued["key"]["kind"] == "user"
    listed = (await (await client.get(KEYS, headers=auth())).json())["keys"]
    assert [k["key_id"] for k in listed] == [issued["key"]["key_id"]] and key not in json.dumps(listed)
    assert (await client.get("/api/v1/sessions", headers={"X-API-Key": key})).status == 200
    resp = await client.post("/api/v1/sessions/s_1/messages", json=SEND, headers={"X-API-Key": key})
    error = await expect_error(resp, 403, "insufficient_scope")
    assert error["details"] == {"required_scope": "messages:send"}


async def test_a_key_never_manages_keys_or_the_account(client, key_for, expect_error):
    key = await key_for(tenant_id="u_alice")
    for method, path in (("GET", KEYS), ("POST", KEYS), ("GET", "/api/v1/users/me")):
        await expect_error(await client.request(method, path, headers={"X-API-Key": key}), 401, "unauthorized")


async def test_creating_a_key_for_a_session_checks_it_is_the_callers(client, gateway, auth, expect_error):
    from wagw_common.errors import RemoteError
    gateway.rpc.replies["session.get"] = RemoteError("not_found", "no such session")
    await expect_error(await _create(client, auth, session_id="s_theirs"), 404, "not_found")
    await expect_error(await _create(client, auth, scopes=["root"]), 422, "validation_failed")
    await expect_error(await _create(client, auth, scopes=[]), 422, "validation_failed")


async def test_another_tenants_key_is_404(client, auth, expect_error):
    key_id = (await (await _create(client, auth)).json())["key"]["key_id"]
    other = auth("u_bob")
    await expect_error(await client.get(f"{KEYS}/{key_id}", headers=other), 404, "not_found")
    await expect_error(await client.delete(f"{KEYS}/{key_id}", headers=other), 404, "not_found")
    await expect_error(await client.post(f"{KEYS}/{key_id}/rotate", headers=other), 404, "not_found")
    assert (await client.get(f"{KEYS}/{key_id}", headers=auth())).status == 200


async def test_revoke_and_rotate_through_the_api(client, gateway, auth, expect_error):
    gateway.rpc.replies["session.list"] = {"sessions": []}
    issued = await (await _create(client, auth)).json()
    key_id, key = issued["key"]["key_id"], issued["api_key"]
    rotated = await (await client.post(f"{KEYS}/{key_id}/rotate", headers=auth())).json()
    assert rotated["key"]["key_id"] == key_id and rotated["api_key"] != key
    await expect_error(await client.get("/api/v1/sessions", headers={"X-API-Key": key}), 401, "unauthorized")
    assert (await client.get("/api/v1/sessions", headers={"X-API-Key": rotated["api_key"]})).status == 200
    assert (await client.delete(f"{KEYS}/{key_id}", headers=auth())).status == 204
    await expect_error(await client.get("/api/v1/sessions", headers={"X-API-Key": rotated["api_key"]}),
                       401, "unauthorized")
    await expect_error(await client.delete(f"{KEYS}/{key_id}", headers=auth()), 404, "not_found")


async def test_a_sessions_key_is_rotated_from_the_session(client, gateway, auth, expect_error):
    auth()
    gateway.rpc.replies["session.get"] = VIEW
    old, _ = await gateway.api_keys.create(session_id="s_1", tenant_id="u_alice")
    resp = await client.post("/api/v1/sessions/s_1/api-key", headers=auth())
    assert resp.status == 200
    issued = await resp.json()
    assert issued["key"]["session_id"] == "s_1" and issued["key"]["kind"] == "session"
    await expect_error(await client.post("/api/v1/send", json=SEND, headers={"X-API-Key": old}), 401, "unauthorized")
    assert (await client.post("/api/v1/send", json=SEND, headers={"X-API-Key": issued["api_key"]})).status == 202
