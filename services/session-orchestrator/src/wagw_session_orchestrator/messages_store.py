"""The `messages` collection: outbound and inbound history with each message's status timeline."""

from __future__ import annotations

import hashlib
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from wagw_common import outbox

from .lifecycle import MESSAGE_PREDECESSORS
from .pagination import before_filter, encode_cursor

_NO_OUTBOX = {"outbox": 0}


def _without_outbox(document: dict[str, Any] | None) -> dict[str, Any] | None:
    # find_one_and_update takes no projection on every supported server (FerretDB refuses `fields`).
    if document is not None:
        document.pop("outbox", None)
    return document
_NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]


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
                      entry: dict[str, Any]) -> dict[str, Any] | None:
        """Move the message to `status` only if that is forward from where it is now; the guard is in
        the update's filter, so a duplicate or out-of-order report changes nothing."""
        return _without_outbox(await self.collection.find_one_and_update(
            {"_id": message["_id"], "session_id": message["session_id"],
             "status": {"$in": sorted(MESSAGE_PREDECESSORS[status])}},
            {"$set": {"status": status}, "$push": {"timeline": step, **outbox.push(entry)}},
            return_document=ReturnDocument.AFTER,
        ))

    async def page(self, tenant_id: str, session_id: str, *, limit: int,
                   before: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of history, newest first, and the cursor of the next page (None on the last)."""
        query = {"session_id": session_id, "tenant_id": tenant_id, **before_filter(before)}
        found = await self.collection.find(query, _NO_OUTBOX).sort(_NEWEST_FIRST).limit(limit + 1).to_list(None)
        page = found[:limit]
        next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["_id"]) if len(found) > limit else None
        return page, next_cursor
