"""The `messages` collection: outbound and inbound history with each message's status timeline."""

from __future__ import annotations

import hashlib
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from wagw_common import outbox

from .lifecycle import MESSAGE_PREDECESSORS, QUEUED
from .pagination import before_filter, encode_cursor

_NO_OUTBOX = {"outbox": 0}


def _without_outbox(document: dict[str, Any] | None) -> dict[str, Any] | None:
    # find_one_and_update takes no projection on every supported server (FerretDB refuses `fields`).
    if document is not None:
        document.pop("outbox", None)
    return document
_NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
_OLDEST_FIRST = [("created_at", ASCENDING), ("_id", ASCENDING)]
_ACCEPTED_FIRST = [("order", ASCENDING), *_OLDEST_FIRST]  # `order`: see clock.order


def inbound_message_id(session_id: str, wa_message_id: str) -> str:
    """The same WhatsApp message reported twice gets the same id, so the second insert is a no-op."""
    digest = hashlib.sha256(f"{session_id}\x00{wa_message_id}".encode()).hexdigest()
    return f"m_in_{digest[:32]}"


class MessagesStore:
    def __init__(self, db: AsyncDatabase):
        self.collection = db["messages"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("session_id", ASCENDING), *_NEWEST_FIRST])
        await self.collection.create_index([(f"{outbox.FIELD}.at", ASCENDING)])  # the relay's scan
        await self.collection.create_index([("status", ASCENDING), ("created_at", ASCENDING)])  # held expiry

    async def insert(self, message: dict[str, Any]) -> bool:
        """False when a message with this id exists already (a redelivered command or report)."""
        try:
            await self.collection.insert_one(message)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, message_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": message_id}, _NO_OUTBOX)

    async def get_for_tenant(self, tenant_id: str, message_id: str) -> dict[str, Any] | None:
        message = await self.get(message_id)
        return message if message is not None and message["tenant_id"] == tenant_id else None

    async def advance(self, message: dict[str, Any], status: str, step: dict[str, Any],
                      entry: dict[str, Any], *, reported_by: str | None = None) -> dict[str, Any] | None:
        """Move the message to `status` only if that is forward from where it is now; the guard is in
        the update's filter, so a duplicate or out-of-order report changes nothing. `reported_by`: only
        if the message was handed to that very worker (one handed to none is the caller's to check)."""
        guard: dict[str, Any] = {"_id": message["_id"], "session_id": message["session_id"],
                                 "status": {"$in": sorted(MESSAGE_PREDECESSORS[status])}}
        if reported_by is not None:
            guard["routed_to"] = reported_by
        return _without_outbox(await self.collection.find_one_and_update(
            guard,
            {"$set": {"status": status}, "$push": {"timeline": step, **outbox.push(entry)}},
            return_document=ReturnDocument.AFTER,
        ))

    async def record_overtaken(self, message: dict[str, Any], step: dict[str, Any],
                               entry: dict[str, Any]) -> dict[str, Any] | None:
        """Keep the step (and its event) of a status reported after a later one, without moving the
        status back. Guarded on the status and timeline as read, so a concurrent change or a duplicate
        report adds nothing: None, and the caller reads again."""
        return _without_outbox(await self.collection.find_one_and_update(
            {"_id": message["_id"], "session_id": message["session_id"], "status": message["status"],
             "timeline": {"$size": len(message["timeline"])}},
            {"$push": {"timeline": step, **outbox.push(entry)}},
            return_document=ReturnDocument.AFTER,
        ))

    async def waiting_for(self, session_id: str, worker_id: str) -> list[dict[str, Any]]:
        """Queued outbound messages of a session not yet handed to `worker_id`, oldest first."""
        query = {"session_id": session_id, "direction": "outbound", "status": QUEUED, "routed_to": {"$ne": worker_id}}
        return await self.collection.find(query, _NO_OUTBOX).sort(_ACCEPTED_FIRST).to_list(None)

    async def count_held(self, session_id: str) -> int:
        """Queued messages of a session handed to no worker yet (waiting for it to connect)."""
        return await self.collection.count_documents(
            {"session_id": session_id, "direction": "outbound", "status": QUEUED, "routed_to": None})

    async def held_before(self, cutoff, limit: int = 500) -> list[dict[str, Any]]:
        """Held messages (queued, handed to no worker) accepted before `cutoff`, oldest first."""
        query = {"status": QUEUED, "created_at": {"$lt": cutoff}, "direction": "outbound", "routed_to": None}
        return await self.collection.find(query, _NO_OUTBOX).sort(_OLDEST_FIRST).limit(limit).to_list(None)

    async def fail_held(self, message: dict[str, Any], step: dict[str, Any],
                        entry: dict[str, Any]) -> dict[str, Any] | None:
        """Fail a message only while it is still held (queued, no worker): None if a release won."""
        return _without_outbox(await self.collection.find_one_and_update(
            {"_id": message["_id"], "status": QUEUED, "routed_to": None},
            {"$set": {"status": step["status"]}, "$push": {"timeline": step, **outbox.push(entry)}},
            return_document=ReturnDocument.AFTER,
        ))

    async def claim_route(self, message_id: str, worker_id: str, *, rerouted: bool = False) -> bool:
        """`rerouted`: handed over in answer to a bounce (a worker sends those, so never bounces them)."""
        claimed = await self.collection.find_one_and_update(
            {"_id": message_id, "status": QUEUED, "routed_to": {"$ne": worker_id}},
            {"$set": {"routed_to": worker_id, "rerouted": rerouted}},
        )
        return claimed is not None

    async def unroute(self, message_id: str, worker_id: str) -> bool:
        """Take a queued message back from the worker it was handed to (it bounced it): held again.
        Not when it was handed over rerouted: a worker never bounces those, so that is a bounce repeated."""
        taken = await self.collection.find_one_and_update(
            {"_id": message_id, "status": QUEUED, "routed_to": worker_id, "rerouted": {"$ne": True}},
            {"$set": {"routed_to": None}},
        )
        return taken is not None

    async def delete_older_than(self, cutoff) -> int:
        """The retention sweep: MongoDB's TTL indexes are not on every supported server."""
        return (await self.collection.delete_many({"created_at": {"$lt": cutoff}})).deleted_count

    async def delete_for_session(self, session_id: str) -> int:
        return (await self.collection.delete_many({"session_id": session_id})).deleted_count

    async def page(self, tenant_id: str, session_id: str, *, limit: int, before: str | None,
                   filters: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of history, newest first, and the cursor of the next page (None on the last).
        `filters`: direction, status, chat (a JID), since (inclusive), until (exclusive)."""
        query: dict[str, Any] = {"session_id": session_id, "tenant_id": tenant_id, **before_filter(before)}
        filters = filters or {}
        for name in ("direction", "status", "chat"):
            if filters.get(name) is not None:
                query[name] = filters[name]
        created = {op: filters[name] for name, op in (("since", "$gte"), ("until", "$lt")) if filters.get(name)}
        if created:
            # Next to the cursor's own `$or` on created_at, so both apply.
            query = {"$and": [query, {"created_at": created}]}
        found = await self.collection.find(query, _NO_OUTBOX).sort(_NEWEST_FIRST).limit(limit + 1).to_list(None)
        page = found[:limit]
        next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["_id"]) if len(found) > limit else None
        return page, next_cursor
