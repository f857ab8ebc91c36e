"""The `workers` collection: one document per worker, its events in the same document's outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from wagw_common import outbox
from wagw_common.broker import Broker
from wagw_common.logging import get_logger

from .fleet import OFFLINE, ONLINE, Change

log = get_logger(__name__)

# Optimistic writes rarely collide (one worker's messages, a select, the monitor); a write that
# keeps losing is a failure the consumer retries.
MAX_WRITE_ATTEMPTS = 8


class WriteConflict(RuntimeError):
    pass


class WorkerStore:
    def __init__(self, db: AsyncDatabase, broker: Broker):
        self.collection = db["workers"]
        self.broker = broker
        self.relay = outbox.OutboxRelay(self.collection, broker)

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("state", ASCENDING), ("free", DESCENDING)])
        await self.collection.create_index([("state", ASCENDING), ("last_heartbeat_at", ASCENDING)])

    async def get(self, worker_id: str) -> dict | None:
        return await self.collection.find_one({"_id": worker_id}, {outbox.FIELD: 0})

    async def apply(self, worker_id: str, decide: Callable[[dict | None], Change | None]) -> Change | None:
        """Read the worker, let `decide` compute the change, write it only if nobody wrote in
        between (else read again), then publish its events. Returns the change applied, if any."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            doc = await self.get(worker_id)
            change = decide(doc)
            if change is None:
                return None
            entries = [outbox.outbox_entry(self.broker, t, data, subject=worker_id) for t, data in change.events]
            written = await (self._create(change, entries) if change.create else self._update(doc, change, entries))
            if written:
                await self.relay.flush(worker_id, entries)
                return change
        raise WriteConflict(f"worker {worker_id} kept changing under us")

    async def _create(self, change: Change, entries: list[dict]) -> bool:
        try:
            await self.collection.insert_one({**change.fields, outbox.FIELD: entries})
        except DuplicateKeyError:
            return False  # registered concurrently: decide again on the stored document
        return True

    async def _update(self, doc: dict, change: Change, entries: list[dict]) -> bool:
        update: dict[str, Any] = {"$set": change.fields, "$inc": {"rev": 1}}
        if entries:
            update["$push"] = outbox.push(*entries)
        result = await self.collection.update_one({"_id": doc["_id"], "rev": doc["rev"]}, update)
        return result.matched_count == 1

    async def claim(self, worker_id: str, session_id: str, now: datetime) -> bool:
        """Take one free slot of an online worker for `session_id`, unless it filled up meanwhile."""
        result = await self.collection.update_one(
            {"_id": worker_id, "state": ONLINE, "free": {"$gt": 0}},
            {"$inc": {"free": -1, "assigned": 1, "rev": 1},
             "$push": {"pending": {"session_id": session_id, "at": now}}},
        )
        return result.modified_count == 1

    async def pending_owner(self, session_id: str) -> dict | None:
        """The online worker this session was chosen for and not yet confirmed by a heartbeat."""
        return await self.collection.find_one({"state": ONLINE, "pending.session_id": session_id}, {"_id": 1})

    async def with_free_capacity(self, limit: int) -> list[dict]:
        cursor = self.collection.find({"state": ONLINE, "free": {"$gt": 0}}, {outbox.FIELD: 0, "sessions": 0})
        return await cursor.sort([("free", DESCENDING), ("_id", ASCENDING)]).limit(limit).to_list(None)

    async def list(self, state: str | None = None) -> list[dict]:
        query = {"state": state} if state else {}
        return await self.collection.find(query, {outbox.FIELD: 0, "sessions": 0}).sort("_id", ASCENDING).to_list(None)

    async def silent(self, cutoff: datetime, limit: int = 500) -> list[dict]:
        query = {"state": {"$ne": OFFLINE}, "last_heartbeat_at": {"$lt": cutoff}}
        return await self.collection.find(query, {"_id": 1}).limit(limit).to_list(None)
