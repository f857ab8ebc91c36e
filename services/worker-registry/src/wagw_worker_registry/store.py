"""The registry's two collections: `workers`, one small document per worker with its events in the
same document's outbox, and `worker_sessions`, the sessions each worker last reported (written only
when they change). The hot path, a heartbeat that changes no state, is one write by `_id` alone;
everything else is a guarded write (compare-and-set on `rev`).

Keeping the worker documents small and the hot path keyed by `_id` only matters on the local
MongoDB-compatible server, which reads the whole collection for any filter beyond `_id`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
import builtins
from typing import Any, Callable, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from wagw_common import outbox
from wagw_common.broker import Broker
from wagw_common.logging import get_logger

from .fleet import DRAINING, ONLINE, REMOVED, Change, SteadyBeat

log = get_logger(__name__)

LIVE = [ONLINE, DRAINING]
# The bulky parts of a record, left out of lists.
SUMMARY = {outbox.FIELD: 0, "pending": 0}
SESSIONS = "sessions"  # the field of a change that goes to `worker_sessions`

# Optimistic writes rarely collide (one worker's messages, a select, the monitor); a write that
# keeps losing is a failure the consumer retries.
MAX_WRITE_ATTEMPTS = 8

# What a decision returns: a decider that always changes something makes `apply` return a `Change`.
Decided = TypeVar("Decided", bound=Change | None)


class WriteConflict(RuntimeError):
    pass


class WorkerStore:
    def __init__(self, db: AsyncDatabase, broker: Broker):
        self.collection = db["workers"]
        self.sessions = db["worker_sessions"]
        self.broker = broker
        self.relay = outbox.OutboxRelay(self.collection, broker)

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("state", ASCENDING), ("free", DESCENDING)])
        await self.collection.create_index([("state", ASCENDING), ("expires_at", ASCENDING)])

    async def get(self, worker_id: str, *, with_sessions: bool = True) -> dict | None:
        doc = await self.collection.find_one({"_id": worker_id}, {outbox.FIELD: 0})
        if doc is not None and with_sessions:
            held = await self.sessions.find_one({"_id": worker_id})
            doc[SESSIONS] = held["latest"][SESSIONS] if held else []
        return doc

    async def record_heartbeat(self, worker_id: str, steady: SteadyBeat) -> None:
        """The hot path, a heartbeat that changes no state (`fleet.steady_heartbeat`), written by `_id`
        alone: `$max` keeps the newest beat (and sessions) whatever order two heartbeats are written
        in, `free` moves by `$inc`, `rev` still moves so a guarded write decided before it (the
        monitor's, a claim's) decides again."""
        if steady.sessions is not None:
            await self._write_sessions(worker_id, steady.sessions, steady.beat["sent_at"])
        await self.collection.update_one({"_id": worker_id}, {
            "$max": {"beat": steady.beat, "last_sent_at": steady.beat["sent_at"],
                     "last_heartbeat_at": steady.last_heartbeat_at, "expires_at": steady.expires_at},
            "$inc": {"rev": 1, "free": steady.free_delta}})

    async def _write_sessions(self, worker_id: str, sessions: list[dict], sent_at: datetime | None) -> None:
        # Key order matters: `sent_at` first, so `$max` keeps the newest list. A new life (no time yet) resets it.
        latest = {"sent_at": sent_at, SESSIONS: sessions}
        await self.sessions.update_one({"_id": worker_id}, {"$max" if sent_at else "$set": {"latest": latest}},
                                       upsert=True)

    async def apply(self, worker_id: str, decide: Callable[[dict | None], Decided]) -> Decided:
        """Read the worker, let `decide` compute the change, write it only if nobody wrote in
        between (else read again), then publish its events. Returns the change applied, if any."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            doc = await self.get(worker_id)
            change = decide(doc)
            if change is None:
                return change
            entries = [outbox.outbox_entry(self.broker, t, data, subject=worker_id) for t, data in change.events]
            fields = dict(change.fields)
            if SESSIONS in fields:  # idempotent, so written before the guarded write (a retry writes it again)
                await self._write_sessions(worker_id, fields.pop(SESSIONS), fields["beat"]["sent_at"])
            stored = replace(change, fields=fields)
            if change.create:
                written = await self._create(stored, entries)
            elif doc is None:
                raise ValueError(f"a change to worker {worker_id}, which has no record, must create it")
            else:
                written = await self._update(doc, stored, entries)
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
        cursor = self.collection.find({"state": ONLINE, "free": {"$gt": 0}}, SUMMARY)
        return await cursor.sort([("free", DESCENDING), ("_id", ASCENDING)]).limit(limit).to_list(None)

    async def list(self, state: str | None = None, environment: str | None = None) -> list[dict]:
        query: dict[str, Any] = {"state": state} if state else {"state": {"$ne": REMOVED}}
        if environment:
            query["environment"] = environment
        return await self.collection.find(query, SUMMARY).sort("_id", ASCENDING).to_list(None)

    async def silent(self, cutoff: datetime, limit: int = 500) -> builtins.list[dict]:
        """Live workers whose heartbeat deadline passed before `cutoff`."""
        query = {"state": {"$in": LIVE}, "expires_at": {"$lt": cutoff}}
        return await self.collection.find(query, {"_id": 1}).limit(limit).to_list(None)

    async def heartbeat_delay(self) -> float:
        """How far behind the registry reads heartbeats: of the heartbeat recorded last, the time from
        its sending to its recording (0 with no live worker)."""
        cursor = self.collection.find({"state": {"$in": LIVE}}, {"last_heartbeat_at": 1, "beat": 1})
        newest = await cursor.sort("last_heartbeat_at", DESCENDING).limit(1).to_list(None)
        sent_at = newest[0].get("beat", {}).get("sent_at") if newest else None
        return max(0.0, (newest[0]["last_heartbeat_at"] - sent_at).total_seconds()) if sent_at else 0.0

    async def claiming(self, worker_id: str, session_ids: builtins.list[str]) -> builtins.list[dict]:
        """Other workers' records that claim any of these sessions (reported or chosen for them),
        each with its `sessions`, `pending`, `beat` and `registered_at`."""
        if not session_ids:
            return []
        others_holding = {"_id": {"$ne": worker_id}, "latest.sessions.session_id": {"$in": session_ids}}
        holders = await self.sessions.find(others_holding).to_list(None)
        held = {d["_id"]: d["latest"][SESSIONS] for d in holders}
        query = {"_id": {"$ne": worker_id}, "state": {"$ne": REMOVED},
                 "$or": [{"_id": {"$in": list(held)}}, {"pending.session_id": {"$in": session_ids}}]}
        projection = {"pending": 1, "beat": 1, "registered_at": 1}
        docs = await self.collection.find(query, projection).to_list(None)
        return [{**d, SESSIONS: held.get(d["_id"], [])} for d in docs]

    async def forget_removed(self, worker_id: str | None = None) -> int:
        """Delete removed workers whose events are out (the outbox is empty), with their sessions."""
        query: dict[str, Any] = {"state": REMOVED, outbox.FIELD: []}
        if worker_id is not None:
            query["_id"] = worker_id
        gone = [d["_id"] for d in await self.collection.find(query, {"_id": 1}).to_list(None)]
        if not gone:
            return 0
        deleted = (await self.collection.delete_many({**query, "_id": {"$in": gone}})).deleted_count
        await self.sessions.delete_many({"_id": {"$in": gone}})
        return deleted
