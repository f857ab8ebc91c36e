"""Webhook endpoints in the dispatcher's own database."""

from __future__ import annotations

import secrets
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

ENDPOINT_ID_PREFIX = "wh_"
# A tenant's endpoints are listed in full; the bound keeps one query cheap however many exist.
MAX_LISTED = 500


def new_endpoint_id() -> str:
    return ENDPOINT_ID_PREFIX + secrets.token_hex(8)


def endpoint_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What the tenant may see of an endpoint (never the secret)."""
    return {
        "endpoint_id": doc["_id"], "tenant_id": doc["tenant_id"], "url": doc["url"], "events": doc["events"],
        "session_id": doc.get("session_id"), "description": doc.get("description", ""),
        "enabled": doc["enabled"], "created_at": doc["created_at"],
    }


class EndpointsStore:
    def __init__(self, db: AsyncDatabase):
        self.collection = db["webhook_endpoints"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("created_at", ASCENDING)])

    async def add(self, doc: dict[str, Any]) -> None:
        await self.collection.insert_one(doc)

    async def get(self, endpoint_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": endpoint_id})

    async def get_for_tenant(self, tenant_id: str, endpoint_id: str) -> dict[str, Any] | None:
        """Another tenant's endpoint is indistinguishable from a missing one."""
        return await self.collection.find_one({"_id": endpoint_id, "tenant_id": tenant_id})

    async def list_for_tenant(self, tenant_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"tenant_id": tenant_id}).sort("created_at", ASCENDING).limit(MAX_LISTED)
        return await cursor.to_list(None)

    async def enabled_for_tenant(self, tenant_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"tenant_id": tenant_id, "enabled": True}).limit(MAX_LISTED)
        return await cursor.to_list(None)
