"""Deliveries (one per endpoint and event) and the log of their attempts."""

from __future__ import annotations

import hashlib
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from wagw_common.storage import utc_now

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
MAX_LISTED = 100


def delivery_id_for(endpoint_id: str, event_id: str) -> str:
    """Derived from the endpoint and the event, so a redelivered event finds its delivery again."""
    return "dl_" + hashlib.sha256(f"{endpoint_id}:{event_id}".encode()).hexdigest()[:24]


def delivery_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "delivery_id": doc["_id"], "endpoint_id": doc["endpoint_id"], "event_id": doc["event_id"],
        "event_type": doc["event_type"], "status": doc["status"], "attempts": doc.get("attempts", []),
        "created_at": doc["created_at"], "updated_at": doc.get("updated_at"),
    }


class DeliveriesStore:
    def __init__(self, db: AsyncDatabase):
        self.collection = db["webhook_deliveries"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("endpoint_id", ASCENDING), ("event_id", ASCENDING)], unique=True)
        await self.collection.create_index([("endpoint_id", ASCENDING), ("created_at", DESCENDING)])

    async def create_once(self, *, endpoint: dict[str, Any], event_id: str, event_type: str,
                          payload: dict[str, Any]) -> dict[str, Any]:
        """The delivery of this event to this endpoint: created now, or the one created before."""
        now = utc_now()
        delivery_id = delivery_id_for(endpoint["_id"], event_id)
        fresh = {
            "tenant_id": endpoint["tenant_id"], "endpoint_id": endpoint["_id"], "event_id": event_id,
            "event_type": event_type, "payload": payload, "status": PENDING, "attempts": [],
            "created_at": now, "updated_at": now,
        }
        try:
            return await self.collection.find_one_and_update(
                {"_id": delivery_id}, {"$setOnInsert": fresh}, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            # Two replicas raced on the same event; the other one's insert won.
            return await self.collection.find_one({"_id": delivery_id})

    async def get(self, delivery_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": delivery_id})

    async def record_attempt(self, delivery_id: str, attempt: dict[str, Any], *, succeeded: bool) -> None:
        update: dict[str, Any] = {"$push": {"attempts": attempt}, "$set": {"updated_at": utc_now()}}
        if succeeded:
            update["$set"]["status"] = SUCCEEDED
        await self.collection.update_one({"_id": delivery_id}, update)

    async def mark_failed(self, delivery_id: str) -> None:
        # Only a pending delivery gives up: a concurrent attempt may have succeeded meanwhile.
        await self.collection.update_one(
            {"_id": delivery_id, "status": PENDING}, {"$set": {"status": FAILED, "updated_at": utc_now()}}
        )

    async def list_for_endpoint(self, endpoint_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"endpoint_id": endpoint_id}, {"payload": 0}).sort("created_at", DESCENDING)
        return await cursor.limit(MAX_LISTED).to_list(None)
