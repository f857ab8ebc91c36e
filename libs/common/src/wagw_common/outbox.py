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
# How long lazy clears gather before one command takes them all: far below any relay's staleness
# (OUTBOX_STALE_AFTER_SECONDS, 10 s by default), so the relay does not republish what was published.
LAZY_CLEAR_SECONDS = 0.5


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
    def __init__(self, collection: AsyncCollection[Any], broker: Broker, *, lazy_clears: bool = False):
        """`lazy_clears`: `flush` returns once its events are published, and their clear goes with the
        others of the next LAZY_CLEAR_SECONDS in one command (for documents changed several times per
        message: a message's status steps)."""
        self.collection = collection
        self.broker = broker
        self.lazy_clears = lazy_clears
        # Clears of many documents at once go as one command (a handful per completed message).
        self._clears = GroupedUpdates(collection, linger=LAZY_CLEAR_SECONDS if lazy_clears else 0.0)

    async def flush(self, document_id: Any, entries: list[dict[str, Any]]) -> None:
        """Publish `entries` (already stored in the document), then remove them from it."""
        for entry in entries:
            envelope = Envelope(type=entry["type"], source=self.broker.source, data=entry["data"],
                                subject=entry["subject"], correlation_id=entry["correlation_id"], id=entry["id"],
                                time=entry["at"])
            await self.broker.publish(envelope, exchange=topology.EVENTS, routing_key=entry["type"], mandatory=False)
        if not entries:
            return
        # $pullAll by whole value: conditional $pull on subdocuments is not supported everywhere.
        clear = ({"_id": document_id}, {"$pullAll": {FIELD: list(entries)}})
        if self.lazy_clears:
            self._clears.later(*clear)  # lost with the process, the entries are relayed again: a duplicate
        else:
            await self._clears.update_one(*clear)

    async def cleared(self) -> None:
        """Returns once every clear asked for so far is written."""
        await self._clears.drain()

    async def relay_stale(self, older_than: timedelta = timedelta(seconds=10), batch: int = 100) -> int:
        """Publish events left behind by a crash between write and publish. Run under a lease."""
        cutoff = utc_now() - older_than
        relayed = 0
        cursor = self.collection.find({f"{FIELD}.at": {"$lt": cutoff}}, {FIELD: 1}).limit(batch)
        async for document in cursor:
            stale = [e for e in document.get(FIELD, []) if e["at"] < cutoff]
            await self.flush(document["_id"], stale)
            relayed += len(stale)
        await self.cleared()  # the next pass must not find them again
        if relayed:
            log.warning("outbox.relayed_stale_events", count=relayed)
        return relayed
