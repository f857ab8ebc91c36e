"""Transactional outbox without multi-document transactions.

A state change and the events it causes are written in ONE single-document update (the events go
into the document's `outbox` array), which MongoDB applies atomically. They are then published and
pulled from the array. If the process dies in between, the relay loop republishes them later with
the same envelope id, and consumers drop the duplicate (through their inbox, or because their
handlers are idempotent on the ids the event carries)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from . import topology
from .broker import Broker, Publishing
from .envelope import Envelope
from .grouped_writes import GroupedUpdates
from .logging import current_correlation_id, get_logger, new_correlation_id
from .storage import utc_now

log = get_logger(__name__)
FIELD = "outbox"


def outbox_entry(broker: Publishing, event_type: str, data: dict[str, Any], *,
                 subject: str | None = None) -> dict[str, Any]:
    """An event, validated against its contract, ready to be `$push`ed with the state change."""
    envelope = broker.envelope(event_type, data, subject=subject)
    return {
        "id": envelope.id,
        "type": envelope.type,
        "data": envelope.data,
        "subject": envelope.subject,
        "correlation_id": envelope.correlation_id or current_correlation_id() or new_correlation_id(),
        "at": envelope.time,  # millisecond precision, as stored, so $pullAll finds the entry
    }


def push(*entries: dict[str, Any]) -> dict[str, Any]:
    """The `$push` clause that stores `entries` with the update."""
    return {FIELD: {"$each": list(entries)}}


class OutboxRelay:
    def __init__(self, collection: AsyncCollection[Any], broker: Broker):
        self.collection = collection
        self.broker = broker
        # Clears of many documents at once go as one command (a handful per completed message).
        self._clears = GroupedUpdates(collection)

    async def flush(self, document_id: Any, entries: list[dict[str, Any]]) -> None:
        """Publish `entries` (already stored in the document), then remove them from it."""
        for entry in entries:
            envelope = Envelope(type=entry["type"], source=self.broker.source, data=entry["data"],
                                subject=entry["subject"], correlation_id=entry["correlation_id"], id=entry["id"],
                                time=entry["at"])
            await self.broker.publish(envelope, exchange=topology.EVENTS, routing_key=entry["type"], mandatory=False)
        if entries:
            # $pullAll by whole value: conditional $pull on subdocuments is not supported everywhere.
            await self._clears.update_one({"_id": document_id}, {"$pullAll": {FIELD: list(entries)}})

    async def relay_stale(self, older_than: timedelta = timedelta(seconds=10), batch: int = 100) -> int:
        """Publish events left behind by a crash between write and publish. Run under a lease."""
        cutoff = utc_now() - older_than
        relayed = 0
        cursor = self.collection.find({f"{FIELD}.at": {"$lt": cutoff}}, {FIELD: 1}).limit(batch)
        async for document in cursor:
            stale = [e for e in document.get(FIELD, []) if e["at"] < cutoff]
            await self.flush(document["_id"], stale)
            relayed += len(stale)
        if relayed:
            log.warning("outbox.relayed_stale_events", count=relayed)
        return relayed
