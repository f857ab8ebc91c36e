"""Deliveries (one per endpoint and event) and the log of their attempts.

A delivery goes through cycles of attempts: cycle 1 when the event arrives, one more each time it
is redelivered by hand. Every attempt is guarded by (cycle, cycle_attempts) in the filter of the
update that records it, so a duplicated or superseded job can never record an attempt twice.

An attempt is claimed (`claimed_until`) before it is made, so that two jobs of one delivery never post
it side by side. A delivery is created already claimed for its first job, which carries the claim's
ticket: that job, nearly always in time, posts without a claim of its own (one database command fewer
per delivery). Any other job, a duplicate or one the broker handed out again, has no ticket and waits
for that claim to end like any other."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from wagw_common.outbox import FIELD as OUTBOX
from wagw_common.outbox import push
from wagw_common.storage import utc_now

PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
NEVER = datetime(1970, 1, 1, tzinfo=timezone.utc)  # `claimed_until` of a delivery nobody is attempting
AFTER = ReturnDocument.AFTER


def delivery_id_for(endpoint_id: str, event_id: str) -> str:
    """Derived from the endpoint and the event, so a redelivered event finds its delivery again."""
    return "dl_" + hashlib.sha256(f"{endpoint_id}:{event_id}".encode()).hexdigest()[:24]


def new_ticket() -> str:
    return secrets.token_hex(8)


def holds_claim(delivery: Mapping[str, Any], ticket: str | None, *, until: datetime) -> bool:
    """The claim this ticket names is the delivery's current one and lasts at least `until`."""
    return ticket is not None and delivery.get("claim_ticket") == ticket and delivery["claimed_until"] >= until


def _sort_key(created_at: datetime, delivery_id: str) -> str:
    # Newest first, ties broken by id: a keyset cursor needs a total order in one field.
    return created_at.strftime("%Y%m%d%H%M%S%f") + "-" + delivery_id


def _attempt_view(attempt: dict[str, Any]) -> dict[str, Any]:
    keys = ("at", "status_code", "latency_ms", "error", "response_body", "cycle", "attempt")
    return {k: attempt.get(k) for k in keys}


def delivery_view(doc: dict[str, Any]) -> dict[str, Any]:
    attempts = doc.get("attempts") or []
    return {
        "delivery_id": doc["_id"], "endpoint_id": doc["endpoint_id"], "event_id": doc["event_id"],
        "event_type": doc["event_type"], "status": doc["status"], "failure_reason": doc.get("failure_reason"),
        "attempt_count": len(attempts), "last_attempt": _attempt_view(attempts[-1]) if attempts else None,
        "next_attempt_at": doc.get("next_attempt_at") if doc["status"] == PENDING else None,
        "test": bool(doc.get("test")), "created_at": doc["created_at"], "updated_at": doc.get("updated_at"),
    }


def delivery_detail(doc: dict[str, Any]) -> dict[str, Any]:
    return {**delivery_view(doc), "attempts": [_attempt_view(a) for a in doc.get("attempts") or []],
            "payload": doc["payload"]}


class DeliveriesStore:
    def __init__(self, db: AsyncDatabase):
        self.collection = db["webhook_deliveries"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("endpoint_id", ASCENDING), ("event_id", ASCENDING)], unique=True)
        await self.collection.create_index([("endpoint_id", ASCENDING), ("sort_key", DESCENDING)])
        await self.collection.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
        await self.collection.create_index([(f"{OUTBOX}.at", ASCENDING)])

    async def upgrade_earlier_deliveries(self) -> int:
        """Deliveries written before attempt cycles existed get theirs (idempotent, at start-up)."""
        upgraded = 0
        async for doc in self.collection.find({"cycle": {"$exists": False}}).limit(10_000):
            created = doc.get("created_at") or utc_now()
            await self.collection.update_one({"_id": doc["_id"], "cycle": {"$exists": False}}, {"$set": {
                "cycle": 1, "cycle_attempts": len(doc.get("attempts") or []), "claimed_until": NEVER,
                "next_attempt_at": doc.get("updated_at") or created, "sort_key": _sort_key(created, doc["_id"]),
                "failure_reason": None, "test": False, OUTBOX: []}})
            upgraded += 1
        return upgraded

    async def create_once(self, *, endpoint: Mapping[str, Any], event_id: str, event_type: str,
                          payload: dict[str, Any], test: bool = False, ticket: str | None = None,
                          claimed_until: datetime = NEVER) -> dict[str, Any]:
        """The delivery of this event to this endpoint: created now (claimed until `claimed_until` under
        `ticket`, when given), or the one created before."""
        now = utc_now()
        delivery_id = delivery_id_for(endpoint["_id"], event_id)
        fresh = {
            "tenant_id": endpoint["tenant_id"], "endpoint_id": endpoint["_id"], "event_id": event_id,
            "event_type": event_type, "payload": payload, "status": PENDING, "failure_reason": None,
            "cycle": 1, "cycle_attempts": 0, "attempts": [], "next_attempt_at": now, "claimed_until": claimed_until,
            "claim_ticket": ticket, "test": test, "created_at": now, "updated_at": now,
            "sort_key": _sort_key(now, delivery_id), OUTBOX: [],
        }
        try:
            # A plain insert, not an upsert handing the document back: what it stored is `fresh` itself.
            await self.collection.insert_one({"_id": delivery_id, **fresh})
        except DuplicateKeyError:
            # Created before: a redelivered event, or another replica handling the same one.
            delivery = await self.collection.find_one({"_id": delivery_id})
            if delivery is None:
                raise RuntimeError(f"delivery {delivery_id} was neither created nor found") from None
            return delivery
        return {"_id": delivery_id, **fresh}

    async def get(self, delivery_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": delivery_id})

    async def get_for_endpoint(self, endpoint_id: str, delivery_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": delivery_id, "endpoint_id": endpoint_id})

    async def claim(self, delivery_id: str, *, cycle: int, done: int, until: datetime,
                    ticket: str | None = None) -> bool:
        """Take attempt `done + 1` of `cycle` (or extend the claim `ticket` names); False if another job
        holds it, made it, or was superseded."""
        free: dict[str, Any] = {"claimed_until": {"$lt": utc_now()}}
        held = {"$or": [free, {"claim_ticket": ticket}]} if ticket is not None else free
        result = await self.collection.update_one(
            {"_id": delivery_id, "status": PENDING, "cycle": cycle, "cycle_attempts": done, **held},
            {"$set": {"claimed_until": until, "claim_ticket": ticket}})
        return result.modified_count == 1

    async def record(self, delivery_id: str, *, cycle: int, done: int, attempt: dict[str, Any],
                     changes: dict[str, Any], event: dict[str, Any] | None = None) -> bool:
        """Append attempt `done + 1` and what it decided (status, next attempt), with its event if any."""
        update: dict[str, Any] = {
            "$push": {"attempts": attempt, **(push(event) if event else {})},
            "$set": {"cycle_attempts": done + 1, "claimed_until": NEVER, "updated_at": utc_now(), **changes},
        }
        result = await self.collection.update_one(
            {"_id": delivery_id, "status": PENDING, "cycle": cycle, "cycle_attempts": done}, update)
        return result.modified_count == 1

    async def give_up(self, delivery_id: str, reason: str) -> None:
        # Only a pending delivery gives up: a concurrent attempt may have succeeded meanwhile.
        await self.collection.update_one(
            {"_id": delivery_id, "status": PENDING},
            {"$set": {"status": FAILED, "failure_reason": reason, "claimed_until": NEVER, "updated_at": utc_now()}})

    async def start_cycle(self, endpoint_id: str, delivery_id: str) -> dict[str, Any] | None:
        """Redeliver by hand: a new cycle from attempt 1; jobs of the previous cycle are ignored from now."""
        now = utc_now()
        return await self.collection.find_one_and_update(
            {"_id": delivery_id, "endpoint_id": endpoint_id},
            {"$inc": {"cycle": 1}, "$set": {"status": PENDING, "failure_reason": None, "cycle_attempts": 0,
                                            "next_attempt_at": now, "claimed_until": NEVER, "updated_at": now}},
            return_document=AFTER)

    async def list_for_endpoint(self, endpoint_id: str, *, status: str | None = None, event_type: str | None = None,
                                since: datetime | None = None, until: datetime | None = None, limit: int = 50,
                                before: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; the cursor is the sort key of the last one returned."""
        query: dict[str, Any] = {"endpoint_id": endpoint_id}
        if status:
            query["status"] = status
        if event_type:
            query["event_type"] = event_type
        created: dict[str, Any] = {}
        if since:
            created["$gte"] = since
        if until:
            created["$lt"] = until
        if created:
            query["created_at"] = created
        if before:
            query["sort_key"] = {"$lt": before}
        projection = {"payload": 0, OUTBOX: 0}
        docs = await self.collection.find(query, projection).sort("sort_key", DESCENDING).limit(limit + 1).to_list(None)
        more = len(docs) > limit
        docs = docs[:limit]
        return docs, (docs[-1]["sort_key"] if more else None)

    async def stalled(self, planned_before: datetime, limit: int = 500) -> list[dict[str, Any]]:
        """Pending deliveries long past their planned attempt, that nobody is attempting."""
        cursor = self.collection.find(
            {"status": PENDING, "next_attempt_at": {"$lt": planned_before}, "claimed_until": {"$lt": utc_now()}},
            {"_id": 1, "endpoint_id": 1, "cycle": 1, "cycle_attempts": 1}).limit(limit)
        return await cursor.to_list(None)

    async def replan(self, delivery_id: str, at: datetime) -> None:
        await self.collection.update_one({"_id": delivery_id, "status": PENDING}, {"$set": {"next_attempt_at": at}})

    async def delete_for_endpoint(self, endpoint_id: str) -> int:
        return (await self.collection.delete_many({"endpoint_id": endpoint_id})).deleted_count

    async def purge_settled(self, before: datetime) -> int:
        # TTL indexes are not available on every supported server, so expiry is a periodic delete.
        settled = {"status": {"$in": [SUCCEEDED, FAILED]}, "updated_at": {"$lt": before}}
        result = await self.collection.delete_many(settled)
        return result.deleted_count
