"""Session API keys: shown once, stored only as a SHA-256 hash.

A key is high-entropy random, so a fast unsalted hash is enough (unlike a password) and lets the
key be found by its hash in one indexed read. Redis caches hash -> (session, tenant) briefly;
MongoDB stays the only copy."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from pymongo import ASCENDING
from redis.exceptions import RedisError
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

log = get_logger(__name__)

KEY_PREFIX = "wagw_sk_"
LISTED_PREFIX_LENGTH = 12  # kept in clear so a customer can tell keys apart in a listing
KEY_MAX_LENGTH = 128
CACHE_TTL_SECONDS = 60
TOUCH_INTERVAL_SECONDS = 60


def new_key() -> str:
    return KEY_PREFIX + secrets.token_hex(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX) and len(value) <= KEY_MAX_LENGTH and value.isascii()


@dataclass(frozen=True)
class SessionKey:
    """Who a session API key speaks for."""

    key_id: str
    session_id: str
    tenant_id: str


class ApiKeyStore:
    def __init__(self, collection, redis):
        self.collection = collection
        self.redis = redis
        self._last_touch: dict[str, float] = {}
        self._touching: set[asyncio.Task] = set()

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("hash", ASCENDING)], unique=True, name="hash_unique")
        await self.collection.create_index([("tenant_id", ASCENDING), ("session_id", ASCENDING)], name="by_session")

    async def create(self, *, session_id: str, tenant_id: str) -> tuple[str, SessionKey]:
        """Returns the full key (to show once) and what it grants."""
        key = new_key()
        record = SessionKey(key_id="k_" + secrets.token_hex(8), session_id=session_id, tenant_id=tenant_id)
        await self.collection.insert_one({
            "_id": record.key_id, "hash": hash_key(key), "prefix": key[:LISTED_PREFIX_LENGTH],
            "session_id": session_id, "tenant_id": tenant_id, "created_at": utc_now(), "last_used_at": None,
            "revoked": False,
        })
        return key, record

    async def lookup(self, key: str) -> SessionKey | None:
        digest = hash_key(key)
        cached = await self._cache_get(digest)
        if cached is not None:
            return cached
        doc = await self.collection.find_one({"hash": digest, "revoked": False})
        if doc is None:
            return None
        found = SessionKey(key_id=doc["_id"], session_id=doc["session_id"], tenant_id=doc["tenant_id"])
        await self._cache_set(digest, found)
        return found

    def touch_soon(self, key_id: str) -> None:
        """Record use in the background, at most once a minute per key and process: last_used_at
        is advisory and must never slow a send down or fail it."""
        now = time.monotonic()
        if now - self._last_touch.get(key_id, float("-inf")) < TOUCH_INTERVAL_SECONDS:
            return
        if len(self._last_touch) > 100_000:
            self._last_touch.clear()
        self._last_touch[key_id] = now
        task = asyncio.create_task(self._touch(key_id))
        self._touching.add(task)
        task.add_done_callback(self._touching.discard)

    async def _touch(self, key_id: str) -> None:
        now = utc_now()
        stale = now - timedelta(seconds=TOUCH_INTERVAL_SECONDS)
        try:
            # Conditional, so several replicas together still write about once a minute.
            await self.collection.update_one(
                {"_id": key_id, "$or": [{"last_used_at": None}, {"last_used_at": {"$lt": stale}}]},
                {"$set": {"last_used_at": now}},
            )
        except Exception as exc:
            log.warning("api_key.touch_failed", key_id=key_id, error=repr(exc))

    @staticmethod
    def _cache_key(digest: str) -> str:
        return f"gateway:api-key:{digest}"

    async def _cache_get(self, digest: str) -> SessionKey | None:
        try:
            raw = await self.redis.get(self._cache_key(digest))
            return SessionKey(**json.loads(raw)) if raw else None
        except (RedisError, OSError, ValueError, TypeError) as exc:
            log.warning("api_key.cache_unavailable", error=repr(exc))
            return None

    async def _cache_set(self, digest: str, found: SessionKey) -> None:
        value = json.dumps({"key_id": found.key_id, "session_id": found.session_id, "tenant_id": found.tenant_id})
        try:
            await self.redis.set(self._cache_key(digest), value, ex=CACHE_TTL_SECONDS)
        except (RedisError, OSError) as exc:
            log.warning("api_key.cache_unavailable", error=repr(exc))
