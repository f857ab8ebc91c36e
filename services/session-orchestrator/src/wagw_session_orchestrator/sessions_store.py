"""The `sessions` collection and the per-tenant session counters behind a small interface.

Consistency rests on single-document atomicity alone (no transactions on every supported server):
a session changes through a compare-and-set on its `sequence`, with its events in the same update."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from wagw_common import outbox, session_status
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.storage import utc_now


_NO_OUTBOX = {"outbox": 0}


def _without_outbox(document: dict[str, Any] | None) -> dict[str, Any] | None:
    # find_one_and_update takes no projection on every supported server (FerretDB refuses `fields`).
    if document is not None:
        document.pop("outbox", None)
    return document


class SessionsStore:
    """`redis`: where every status change is also recorded (`wagw_common.session_status`), for the
    gateway to refuse sends to a session that cannot take them; None in tests that do not need it."""

    def __init__(self, db: AsyncDatabase, redis: aioredis.Redis | None = None):
        self.collection = db["sessions"]
        self.counters = db["tenant_session_counts"]
        self.redis = redis

    async def record_status(self, session: dict[str, Any]) -> None:
        if self.redis is not None:
            await session_status.record(self.redis, session["_id"], session["status"], session["sequence"])

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("tenant_id", ASCENDING), ("created_at", ASCENDING)])
        await self.collection.create_index([("worker_id", ASCENDING)])
        await self.collection.create_index([(f"{outbox.FIELD}.at", ASCENDING)])  # the relay's scan

    async def reserve_slot(self, tenant_id: str, limit: int) -> bool:
        """Take one of the tenant's `limit` session slots, atomically even under concurrent creates."""
        if limit <= 0:
            return False
        # Create the counter first, apart from the conditional increment: an upsert guarded by
        # `count < limit` would also fail with a duplicate key when two first creates race.
        try:
            await self.counters.update_one({"_id": tenant_id}, {"$setOnInsert": {"count": 0}}, upsert=True)
        except DuplicateKeyError:
            pass  # a concurrent create made it: exactly what we wanted
        taken = await self.counters.find_one_and_update(
            {"_id": tenant_id, "count": {"$lt": limit}}, {"$inc": {"count": 1}}, return_document=ReturnDocument.AFTER,
        )
        return taken is not None

    async def release_slot(self, tenant_id: str) -> None:
        await self.counters.update_one({"_id": tenant_id, "count": {"$gt": 0}}, {"$inc": {"count": -1}})

    async def claim_slot_release(self, session_id: str) -> bool:
        """True once per deleted session: whoever gets True gives the tenant's slot back."""
        claimed = await self.collection.find_one_and_update(
            {"_id": session_id, "status": SessionStatus.DELETED, "slot_released": {"$ne": True}},
            {"$set": {"slot_released": True}},
        )
        return claimed is not None

    async def live_on_worker(self, worker_id: str) -> list[dict[str, Any]]:
        """Sessions a worker holds (or is about to), and those being moved off it (to finish a move)."""
        query = {"$or": [{"worker_id": worker_id}, {"moved_from": worker_id, "status": SessionStatus.RECONNECTING}]}
        return await self.collection.find(query, _NO_OUTBOX).to_list(None)

    async def waiting_for_a_worker(self) -> list[dict[str, Any]]:
        """Sessions a failover could place nowhere: RECONNECTING with no worker."""
        waiting = {"status": SessionStatus.RECONNECTING, "worker_id": None}
        return await self.collection.find(waiting, _NO_OUTBOX).to_list(None)

    async def insert(self, session: dict[str, Any]) -> None:
        await self.collection.insert_one(session)
        await self.record_status(session)

    async def get(self, session_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": session_id}, _NO_OUTBOX)

    async def get_for_tenant(self, tenant_id: str, session_id: str) -> dict[str, Any] | None:
        """Another tenant's session is indistinguishable from a missing one."""
        session = await self.get(session_id)
        if session is None or session["tenant_id"] != tenant_id or session["status"] == SessionStatus.DELETED:
            return None
        return session

    async def list_for_tenant(self, tenant_id: str) -> list[dict[str, Any]]:
        cursor = self.collection.find({"tenant_id": tenant_id, "status": {"$ne": SessionStatus.DELETED}}, _NO_OUTBOX)
        return await cursor.sort([("created_at", ASCENDING), ("_id", ASCENDING)]).to_list(None)

    async def worker_of(self, session_id: str) -> str | None:
        session = await self.collection.find_one({"_id": session_id}, {"worker_id": 1})
        return session.get("worker_id") if session else None

    async def apply(self, seen: dict[str, Any], fields: dict[str, Any], entries: list[dict[str, Any]]) -> dict | None:
        """Write `fields` and their events if the session is still exactly as `seen` (same sequence);
        the new document, or None when someone else changed it first."""
        update: dict[str, Any] = {"$set": {**fields, "updated_at": utc_now()}}
        if entries:
            update["$inc"] = {"sequence": len(entries)}
            update["$push"] = outbox.push(*entries)
        written = _without_outbox(await self.collection.find_one_and_update(
            {"_id": seen["_id"], "sequence": seen["sequence"], "status": seen["status"]}, update,
            return_document=ReturnDocument.AFTER,
        ))
        if written is not None and "status" in fields:
            await self.record_status(written)
        return written
