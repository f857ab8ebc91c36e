"""Webhook endpoints in the dispatcher's own database. Every state change that others must hear
about carries its event in the same single-document update (the `outbox` array). Every write that
may change which endpoints match an event tells the matching cache (endpoint_cache.py)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from wagw_common.outbox import FIELD as OUTBOX
from wagw_common.outbox import push
from wagw_common.storage import utc_now

from .endpoint_cache import Endpoints, MatchingEndpointsCache

ENDPOINT_ID_PREFIX = "wh_"
# A tenant's endpoints are listed in full; the bound keeps one query cheap however many exist.
MAX_LISTED = 500
AFTER = ReturnDocument.AFTER
# The cached copies are whole endpoints but their outbox: the fan-out matches events against them and
# an attempt takes its URL, secrets and headers from them (`current`). They live in this process's
# memory only, as the secrets an attempt signs with do anyway.
CACHED_FIELDS = {OUTBOX: 0}


def new_endpoint_id() -> str:
    return ENDPOINT_ID_PREFIX + secrets.token_hex(8)


def new_endpoint(*, tenant_id: str, url: str, events: list[str], session_id: str | None, description: str,
                 headers: dict[str, str], secret: str) -> dict[str, Any]:
    now = utc_now()
    return {
        "_id": new_endpoint_id(), "tenant_id": tenant_id, "url": url, "events": list(dict.fromkeys(events)),
        "session_id": session_id, "description": description, "headers": headers, "secret": secret,
        "previous_secrets": [], "enabled": True, "disabled_reason": None, "disabled_message": None,
        "disabled_at": None, "failing_since": None, "last_error": None, "created_at": now, "updated_at": now,
        OUTBOX: [],
    }


def signing_secrets(doc: dict[str, Any], now: datetime) -> list[str]:
    """The current secret, then any previous one still inside its rotation overlap."""
    return [doc["secret"], *(p["secret"] for p in doc.get("previous_secrets", []) if p["expires_at"] > now)]


def endpoint_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What the tenant may see of an endpoint (never a secret)."""
    now = utc_now()
    overlaps = [p["expires_at"] for p in doc.get("previous_secrets", []) if p["expires_at"] > now]
    return {
        "endpoint_id": doc["_id"], "tenant_id": doc["tenant_id"], "url": doc["url"], "events": doc["events"],
        "session_id": doc.get("session_id"), "description": doc.get("description", ""),
        "headers": doc.get("headers") or {}, "enabled": doc["enabled"],
        "disabled_reason": doc.get("disabled_reason"), "disabled_message": doc.get("disabled_message"),
        "disabled_at": doc.get("disabled_at"), "failing_since": doc.get("failing_since"),
        "previous_secret_expires_at": max(overlaps) if overlaps else None,
        "created_at": doc["created_at"], "updated_at": doc.get("updated_at"),
    }


class EndpointsStore:
    def __init__(self, db: AsyncDatabase, redis=None):
        """Without `redis`, every match read goes to MongoDB (no cache)."""
        self.collection = db["webhook_endpoints"]
        self.cache = MatchingEndpointsCache(redis) if redis is not None else None

    async def _changed(self, tenant_id: str) -> None:
        if self.cache is not None:
            await self.cache.changed(tenant_id)

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("created_at", ASCENDING)])
        await self.collection.create_index([(f"{OUTBOX}.at", ASCENDING)])

    async def add(self, doc: dict[str, Any]) -> None:
        await self.collection.insert_one(doc)
        await self._changed(doc["tenant_id"])

    async def get(self, endpoint_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": endpoint_id})

    async def get_for_tenant(self, tenant_id: str, endpoint_id: str) -> dict[str, Any] | None:
        """Another tenant's endpoint is indistinguishable from a missing one."""
        return await self.collection.find_one({"_id": endpoint_id, "tenant_id": tenant_id})

    async def list_for_tenant(self, tenant_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"tenant_id": tenant_id}).sort("created_at", ASCENDING).limit(MAX_LISTED)
        return await cursor.to_list(None)

    async def enabled_for_tenant(self, tenant_id: str) -> Endpoints:
        """The tenant's enabled endpoints (CACHED_FIELDS), for matching an event: from the cache when it
        is current. Shared between reads: do not modify."""
        if self.cache is None:
            return await self._enabled_for_tenant(tenant_id)
        return await self.cache.read(tenant_id, lambda: self._enabled_for_tenant(tenant_id))

    async def _enabled_for_tenant(self, tenant_id: str) -> Endpoints:
        cursor = self.collection.find({"tenant_id": tenant_id, "enabled": True}, CACHED_FIELDS).limit(MAX_LISTED)
        return await cursor.to_list(None)

    async def current(self, tenant_id: str, endpoint_id: str) -> dict[str, Any] | None:
        """The endpoint as an attempt must see it now: the tenant's current copy (one Redis GET when
        the cache holds it), else read by id (a disabled endpoint's test, a copy just invalidated)."""
        for endpoint in await self.enabled_for_tenant(tenant_id):
            if endpoint["_id"] == endpoint_id:
                return endpoint
        return await self.get(endpoint_id)

    async def update(self, tenant_id: str, endpoint_id: str, changes: dict[str, Any]) -> dict[str, Any] | None:
        doc = await self.collection.find_one_and_update(
            {"_id": endpoint_id, "tenant_id": tenant_id}, {"$set": {**changes, "updated_at": utc_now()}},
            return_document=AFTER)
        if doc is not None:
            await self._changed(tenant_id)
        return doc

    async def delete(self, tenant_id: str, endpoint_id: str) -> bool:
        result = await self.collection.delete_one({"_id": endpoint_id, "tenant_id": tenant_id})
        if result.deleted_count != 1:
            return False
        await self._changed(tenant_id)
        return True

    async def rotate_secret(self, doc: dict[str, Any], new_secret: str,
                            overlap_until: datetime) -> dict[str, Any] | None:
        """Compare-and-set on the current secret: of two concurrent rotations, one wins."""
        now = utc_now()
        kept = [p for p in doc.get("previous_secrets", []) if p["expires_at"] > now]
        if overlap_until > now:
            kept.append({"secret": doc["secret"], "expires_at": overlap_until})
        rotated = await self.collection.find_one_and_update(
            {"_id": doc["_id"], "tenant_id": doc["tenant_id"], "secret": doc["secret"]},
            {"$set": {"secret": new_secret, "previous_secrets": kept, "updated_at": now}}, return_document=AFTER)
        # Matching reads no secret; bumped anyway, so no cached copy ever outlives an endpoint's change.
        if rotated is not None:
            await self._changed(rotated["tenant_id"])
        return rotated

    async def disable(self, endpoint_id: str, *, reason: str, message: str, event: dict[str, Any],
                      tenant_id: str | None = None, failing_before: datetime | None = None) -> dict[str, Any] | None:
        """Disable an enabled endpoint, with its event; None if it was not enabled (or, with
        `failing_before`, not failing since before then): only one caller wins."""
        query: dict[str, Any] = {"_id": endpoint_id, "enabled": True}
        if tenant_id is not None:
            query["tenant_id"] = tenant_id
        if failing_before is not None:
            query["failing_since"] = {"$lte": failing_before}
        now = utc_now()
        disabled = await self.collection.find_one_and_update(
            query, {"$set": {"enabled": False, "disabled_reason": reason, "disabled_message": message,
                             "disabled_at": now, "updated_at": now}, "$push": push(event)}, return_document=AFTER)
        if disabled is not None:
            await self._changed(disabled["tenant_id"])
        return disabled

    async def enable(self, tenant_id: str, endpoint_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
        """Enable a disabled endpoint, forgetting its failure streak; None if it was not disabled."""
        enabled = await self.collection.find_one_and_update(
            {"_id": endpoint_id, "tenant_id": tenant_id, "enabled": False},
            {"$set": {"enabled": True, "disabled_reason": None, "disabled_message": None, "disabled_at": None,
                      "failing_since": None, "last_error": None, "updated_at": utc_now()}, "$push": push(event)},
            return_document=AFTER)
        if enabled is not None:
            await self._changed(tenant_id)
        return enabled

    # A streak's start and end change what an attempt reads (`failing_since`: whether a success must
    # end it), so they bump the cache; the last error of a running streak does not (once per attempt).
    async def note_failure(self, endpoint_id: str, at: datetime, error: str | None) -> dict[str, Any] | None:
        """Start the failure streak if none is running; returns the endpoint as it is now."""
        started = await self.collection.find_one_and_update(
            {"_id": endpoint_id, "failing_since": None}, {"$set": {"failing_since": at, "last_error": error}},
            return_document=AFTER)
        if started is not None:
            await self._changed(started["tenant_id"])
            return started
        return await self.collection.find_one_and_update(
            {"_id": endpoint_id}, {"$set": {"last_error": error}}, return_document=AFTER)

    async def note_success(self, endpoint: dict[str, Any]) -> None:
        result = await self.collection.update_one({"_id": endpoint["_id"], "failing_since": {"$ne": None}},
                                                  {"$set": {"failing_since": None, "last_error": None}})
        if result.modified_count:
            await self._changed(endpoint["tenant_id"])
