"""Transactional outbox without multi-document transactions.

A state change and the events it causes are written in ONE single-document update (the events go
into the document's `outbox` array), which MongoDB applies atomically. They are then published and
pulled from the array. If the process dies in between, the relay loop republishes them later with
the same envelope id, and consumers drop the duplicate (through their inbox, or because their
handlers are idempotent on the ids the event carries)."""

from __future__ import annotations

import asyncio
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
        """`lazy_clears`: `flush` returns once its events are published, and their clear waits up to
        LAZY_CLEAR_SECONDS: the clears of that interval go as one command, and those of one document as
        one update (for documents changed several times per message: a message's status steps; each
        update of a document writes it and its indexes again)."""
        self.collection = collection
        self.broker = broker
        self.lazy_clears = lazy_clears
        # Clears of many documents at once go as one command.
        self._clears = GroupedUpdates(collection)
        self._lazy: dict[Any, list[dict[str, Any]]] = {}  # document id -> its published entries
        self._lazy_writer: asyncio.Task[None] | None = None

    async def flush(self, document_id: Any, entries: list[dict[str, Any]]) -> None:
        """Publish `entries` (already stored in the document), then remove them from it."""
        for entry in entries:
            envelope = Envelope(type=entry["type"], source=self.broker.source, data=entry["data"],
                                subject=entry["subject"], correlation_id=entry["correlation_id"], id=entry["id"],
                                time=entry["at"])
            await self.broker.publish(envelope, exchange=topology.EVENTS, routing_key=entry["type"], mandatory=False)
        if not entries:
            return
        if self.lazy_clears:
            self._clear_later(document_id, entries)  # lost with the process, the entries are relayed again
        else:
            await self._clears.update_one(*_clear(document_id, entries))

    def _clear_later(self, document_id: Any, entries: list[dict[str, Any]]) -> None:
        self._lazy.setdefault(document_id, []).extend(entries)
        if self._lazy_writer is None or self._lazy_writer.done():
            self._lazy_writer = asyncio.create_task(self._write_lazy_clears())

    async def _write_lazy_clears(self) -> None:
        while self._lazy:
            await asyncio.sleep(LAZY_CLEAR_SECONDS)
            gathered, self._lazy = self._lazy, {}
            # Queued together, they leave as one command; a failure only means duplicates relayed later.
            outcomes = await asyncio.gather(*(self._clears.update_one(*_clear(document_id, entries))
                                              for document_id, entries in gathered.items()), return_exceptions=True)
            for failure in {repr(o) for o in outcomes if isinstance(o, Exception)}:
                log.warning("outbox.clear_failed", error=failure)

    async def cleared(self) -> None:
        """Returns once every clear asked for so far is written."""
        while self._lazy_writer is not None and not self._lazy_writer.done():
            await asyncio.shield(self._lazy_writer)
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


def _clear(document_id: Any, entries: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    # $pullAll by whole value: conditional $pull on subdocuments is not supported everywhere.
    return {"_id": document_id}, {"$pullAll": {FIELD: list(entries)}}
