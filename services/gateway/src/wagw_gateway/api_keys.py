"""API keys: shown once, stored only as a SHA-256 hash, recognisable by their prefix.

Two kinds share one collection. A *session key* (`wagw_sk_…`, one per session, issued with it) holds
every right on its own session. A *user key* (`wagw_uk_…`) holds the scopes it was given and may be
restricted to one session. A key is high-entropy random, so a fast unsalted hash is enough (unlike a
password) and lets the key be found by its hash in one indexed read.

Redis caches hash -> what the key grants, for a minute; MongoDB stays the only copy. Revoking or
rotating a key overwrites its cache entry with a tombstone at once, and cache fills use SET NX, so
a fill racing a revocation cannot bring the key back."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from redis.exceptions import RedisError
from wagw_common.contracts.identity import ALL_SCOPES
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

log = get_logger(__name__)

SESSION_KEY_PREFIX = "wagw_sk_"
USER_KEY_PREFIX = "wagw_uk_"
KEY_PREFIX = SESSION_KEY_PREFIX
KEY_PREFIXES = (SESSION_KEY_PREFIX, USER_KEY_PREFIX)
LISTED_PREFIX_LENGTH = 12  # kept in clear so a customer can tell keys apart in a listing
KEY_MAX_LENGTH = 128
CACHE_TTL_SECONDS = 60
TOUCH_INTERVAL_SECONDS = 60
TOMBSTONE = "revoked"  # a revoked key's cache entry


def new_key(prefix: str = SESSION_KEY_PREFIX) -> str:
    return prefix + secrets.token_hex(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIXES) and len(value) <= KEY_MAX_LENGTH and value.isascii()


@dataclass(frozen=True)
class ApiKey:
    """Who a key speaks for and what it may do."""

    key_id: str
    tenant_id: str
    session_id: str | None  # the one session it may act on; None: any of the tenant's
    scopes: tuple[str, ...] = (ALL_SCOPES,)
    kind: str = "session"

    def allows(self, scope: str) -> bool:
        return ALL_SCOPES in self.scopes or scope in self.scopes


SessionKey = ApiKey  # the name the walking skeleton used


def cache_key(digest: str) -> str:
    return f"gateway:api-key:{digest}"


def cached_grant(cached: str | bytes) -> ApiKey:
    """What a key grants, from its cache entry (not a tombstone)."""
    granted = json.loads(cached)
    return ApiKey(**{**granted, "scopes": tuple(granted["scopes"])})


def _granted(doc: dict[str, Any]) -> ApiKey:
    return ApiKey(key_id=doc["_id"], tenant_id=doc["tenant_id"], session_id=doc.get("session_id"),
                  scopes=tuple(doc.get("scopes") or (ALL_SCOPES,)), kind=doc.get("kind", "session"))


class ApiKeyStore:
    def __init__(self, collection, redis):
        self.collection = collection
        self.redis = redis
        self._last_touch: dict[str, float] = {}
        self._touching: set[asyncio.Task] = set()

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("hash", ASCENDING)], unique=True, name="hash_unique")
        await self.collection.create_index([("tenant_id", ASCENDING), ("session_id", ASCENDING)], name="by_session")

    async def create(self, *, session_id: str, tenant_id: str) -> tuple[str, ApiKey]:
        """A session's own key. Returns the full key (to show once) and what it grants."""
        key, doc = await self._insert(tenant_id=tenant_id, kind="session", name="session key", scopes=[ALL_SCOPES],
                                      session_id=session_id)
        return key, _granted(doc)

    async def create_user_key(self, *, tenant_id: str, name: str, scopes: list[str],
                              session_id: str | None) -> tuple[str, dict[str, Any]]:
        """Returns the full key (to show once) and its record."""
        return await self._insert(tenant_id=tenant_id, kind="user", name=name, scopes=sorted(set(scopes)),
                                  session_id=session_id)

    async def _insert(self, *, tenant_id: str, kind: str, name: str, scopes: list[str],
                      session_id: str | None) -> tuple[str, dict[str, Any]]:
        key = new_key(SESSION_KEY_PREFIX if kind == "session" else USER_KEY_PREFIX)
        doc = {"_id": "k_" + secrets.token_hex(8), "hash": hash_key(key), "prefix": key[:LISTED_PREFIX_LENGTH],
               "kind": kind, "name": name, "scopes": scopes, "session_id": session_id, "tenant_id": tenant_id,
               "created_at": utc_now(), "last_used_at": None, "rotated_at": None, "revoked": False}
        await self.collection.insert_one(doc)
        return key, doc

    async def lookup(self, key: str) -> ApiKey | None:
        digest = hash_key(key)
        cached = await self._cache_get(digest)
        if cached == TOMBSTONE:
            return None
        if cached is not None:
            return cached_grant(cached)
        doc = await self.collection.find_one({"hash": digest, "revoked": False})
        if doc is None:
            return None  # not cached: random guesses must not fill Redis
        found = _granted(doc)
        await self._cache_set(digest, json.dumps(asdict(found)), only_if_absent=True)
        return found

    async def list(self, tenant_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"tenant_id": tenant_id, "revoked": False}).sort("created_at", ASCENDING)
        return await cursor.to_list(None)

    async def get(self, tenant_id: str, key_id: str) -> dict[str, Any] | None:
        """Another tenant's key, or a revoked one, is not found."""
        return await self.collection.find_one({"_id": key_id, "tenant_id": tenant_id, "revoked": False})

    async def session_key(self, tenant_id: str, session_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"tenant_id": tenant_id, "session_id": session_id, "kind": "session",
                                               "revoked": False})

    async def revoke(self, tenant_id: str, key_id: str) -> bool:
        before = await self.collection.find_one_and_update(
            {"_id": key_id, "tenant_id": tenant_id, "revoked": False},
            {"$set": {"revoked": True, "revoked_at": utc_now()}})
        if before is None:
            return False
        await self._cache_set(before["hash"], TOMBSTONE, only_if_absent=False)
        return True

    async def revoke_for_session(self, tenant_id: str, session_id: str) -> int:
        """Revoke every live key bound to a session (its own key and user keys restricted to it)."""
        revoked = 0
        for doc in await self.collection.find({"tenant_id": tenant_id, "session_id": session_id,
                                                "revoked": False}).to_list(None):
            revoked += await self.revoke(tenant_id, doc["_id"])
        return revoked

    async def rotate(self, tenant_id: str, key_id: str) -> tuple[str, dict[str, Any]] | None:
        """A new secret for the same key (id, name, scopes, session); the old secret stops at once."""
        current = await self.get(tenant_id, key_id)
        if current is None:
            return None
        key = new_key(SESSION_KEY_PREFIX if current.get("kind", "session") == "session" else USER_KEY_PREFIX)
        after = await self.collection.find_one_and_update(
            {"_id": key_id, "tenant_id": tenant_id, "hash": current["hash"], "revoked": False},
            {"$set": {"hash": hash_key(key), "prefix": key[:LISTED_PREFIX_LENGTH], "rotated_at": utc_now()}},
            return_document=ReturnDocument.AFTER)
        if after is None:  # revoked or rotated meanwhile
            return None
        await self._cache_set(current["hash"], TOMBSTONE, only_if_absent=False)
        return key, after

    def touch_soon(self, key_id: str) -> None:
        """Record use in the background, at most once a minute per key and process: last_used_at
        is advisory and must never slow a request down or fail it."""
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

    async def _cache_get(self, digest: str) -> str | None:
        try:
            return await self.redis.get(cache_key(digest))
        except (RedisError, OSError) as exc:
            log.warning("api_key.cache_unavailable", error=repr(exc))
            return None

    async def _cache_set(self, digest: str, value: str, *, only_if_absent: bool) -> None:
        try:
            await self.redis.set(cache_key(digest), value, ex=CACHE_TTL_SECONDS, nx=only_if_absent)
        except (RedisError, OSError) as exc:
            log.warning("api_key.cache_unavailable", error=repr(exc))
