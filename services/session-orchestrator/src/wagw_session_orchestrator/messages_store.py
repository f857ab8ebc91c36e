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


def _known_wa_id(wa_message_id: str | None) -> dict[str, Any]:
    # Set only when reported: a later step without it must not erase it.
    return {"wa_message_id": wa_message_id} if wa_message_id else {}


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
        await self.collection.create_index([("session_id", ASCENDING), ("wa_message_id", ASCENDING)])  # quotes, edits

    async def insert(self, message: dict[str, Any]) -> bool:
        """False when a message with this id exists already (a redelivered command or report)."""
        try:
            await self.collection.insert_one(message)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, message_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": message_id}, _NO_OUTBOX)

    async def find_by_wa_id(self, session_id: str, wa_message_id: str) -> dict[str, Any] | None:
        """A message of this session by WhatsApp's id of it (known for received ones)."""
        return await self.collection.find_one({"session_id": session_id, "wa_message_id": wa_message_id}, _NO_OUTBOX)

    async def record_edit(self, message: dict[str, Any], text: str, at, entry: dict[str, Any]) -> dict[str, Any] | None:
        """The new text, unless the message was deleted or an edit made at `at` or later is stored
        (edits may be reported out of order, or twice): None then."""
        return _without_outbox(await self.collection.find_one_and_update(
            {"_id": message["_id"], "deleted_at": None, "$or": [{"edited_at": None}, {"edited_at": {"$lt": at}}]},
            {"$set": {"text": text, "edited_at": at}, "$push": outbox.push(entry)},
            return_document=ReturnDocument.AFTER,
        ))

    async def mark_deleted(self, message: dict[str, Any], at, entry: dict[str, Any]) -> dict[str, Any] | None:
        """Marked deleted for everyone, once (None if it was already)."""
        return _without_outbox(await self.collection.find_one_and_update(
            {"_id": message["_id"], "deleted_at": None},
            {"$set": {"deleted_at": at}, "$push": outbox.push(entry)},
            return_document=ReturnDocument.AFTER,
        ))

    async def get_for_tenant(self, tenant_id: str, message_id: str) -> dict[str, Any] | None:
        message = await self.get(message_id)
        return message if message is not None and message["tenant_id"] == tenant_id else None

    async def advance(self, message: dict[str, Any], status: str, step: dict[str, Any],
                      entry: dict[str, Any], *, reported_by: str | None = None,
                      wa_message_id: str | None = None) -> dict[str, Any] | None:
        """Move the message to `status` only if that is forward from where it is now; the guard is in
        the update's filter, so a duplicate or out-of-order report changes nothing. `reported_by`: only
        if the message was handed to that very worker (one handed to none is the caller's to check).
        `wa_message_id`: WhatsApp's id of it, kept with the step that reported it."""
        guard: dict[str, Any] = {"_id": message["_id"], "session_id": message["session_id"],
                                 "status": {"$in": sorted(MESSAGE_PREDECESSORS[status])}}
        if reported_by is not None:
            guard["routed_to"] = reported_by
        return _without_outbox(await self.collection.find_one_and_update(
            guard,
            {"$set": {"status": status, **_known_wa_id(wa_message_id)},
             "$push": {"timeline": step, **outbox.push(entry)}},
            return_document=ReturnDocument.AFTER,
        ))

    async def record_overtaken(self, message: dict[str, Any], step: dict[str, Any],
                               entry: dict[str, Any], *, wa_message_id: str | None = None) -> dict[str, Any] | None:
        """Keep the step (and its event) of a status reported after a later one, without moving the
        status back. Guarded on the status and timeline as read, so a concurrent change or a duplicate
        report adds nothing: None, and the caller reads again."""
        return _without_outbox(await self.collection.find_one_and_update(
            {"_id": message["_id"], "session_id": message["session_id"], "status": message["status"],
             "timeline": {"$size": len(message["timeline"])}},
            {"$push": {"timeline": step, **outbox.push(entry)},
             **({"$set": _known_wa_id(wa_message_id)} if wa_message_id else {})},
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

    async def recent_chats(self, tenant_id: str, session_id: str, *, limit: int,
                           scan: int = 2000) -> list[dict[str, Any]]:
        """The latest message of each chat, the latest active chat first, found among the session's
        newest `scan` messages (`$group` may only count on every supported server, so the last message
        of a chat is found by reading, newest first, not by the server)."""
        query = {"session_id": session_id, "tenant_id": tenant_id}
        fields = {"chat": 1, "direction": 1, "type": 1, "text": 1, "status": 1, "created_at": 1}
        latest: dict[str, dict[str, Any]] = {}
        for message in await self.collection.find(query, fields).sort(_NEWEST_FIRST).limit(scan).to_list(None):
            latest.setdefault(message["chat"], message)
            if len(latest) >= limit:
                break
        return list(latest.values())

    async def unread_by_chat(self, session_id: str, chats: list[str]) -> dict[str, int]:
        """Received messages not marked read, per chat."""
        rows = await (await self.collection.aggregate([
            {"$match": {"session_id": session_id, "direction": "inbound", "read_at": None, "chat": {"$in": chats}}},
            {"$group": {"_id": "$chat", "unread": {"$sum": 1}}},
        ])).to_list(None)
        return {row["_id"]: row["unread"] for row in rows}

    async def mark_chat_read(self, session_id: str, chat: str, at) -> int:
        """Every received message of the chat not marked read yet, marked read at `at`."""
        result = await self.collection.update_many(
            {"session_id": session_id, "chat": chat, "direction": "inbound", "read_at": None},
            {"$set": {"read_at": at}})
        return result.modified_count

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
