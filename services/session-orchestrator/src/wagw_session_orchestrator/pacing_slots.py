"""Where paced sends' slots are kept: the session's `pacing_state` (reserved by compare-and-set on its
`version`, so replicas and redeliveries never give two sends one slot) and the messages waiting for
their slot (`paced_until` on a held message)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from . import pacing
from .lifecycle import QUEUED

_WAITING = {"direction": "outbound", "status": QUEUED, "routed_to": None, "paced_until": {"$ne": None}}
_NO_OUTBOX = {"outbox": 0}


class SlotContention(RuntimeError):
    """The session's pacing state kept changing under us; the send is retried by the broker."""


class PacingSlots:
    def __init__(self, db: AsyncDatabase):
        self.sessions = db["sessions"]
        self.messages = db["messages"]

    async def ensure_indexes(self) -> None:
        await self.messages.create_index([("paced_until", ASCENDING)])  # the release loop's scan

    async def reserve(self, session_id: str, message_id: str, now: datetime, *,
                      attempts: int = 20) -> pacing.Reserved | str | None:
        """The send's slot, DAILY_LIMIT_REACHED, or None when the session is not paced (any more)."""
        for _ in range(attempts):
            session = await self.sessions.find_one({"_id": session_id}, {"pacing": 1, "pacing_state": 1})
            if session is None or not session.get("pacing"):
                return None
            state = session.get("pacing_state") or {}
            outcome = pacing.reserve(session["pacing"], state, now, message_id)
            if not isinstance(outcome, pacing.Reserved) or not outcome.state:
                return outcome
            version = state.get("version")
            # The version as read (None matches a session never paced before): a concurrent reservation
            # bumped it, and this one reads again. The last hand-off is not written here: the release
            # loop moves it on its own ($max), and a reservation must not set it back.
            written = await self.sessions.update_one(
                {"_id": session_id, "pacing_state.version": version},
                {"$set": {**{f"pacing_state.{name}": value for name, value in outcome.state.items()},
                          "pacing_state.version": (version or 0) + 1}})
            if written.modified_count:
                return outcome
        raise SlotContention(f"session {session_id}: pacing state changed {attempts} times while reserving")

    async def record_handed(self, session_id: str, at: datetime) -> None:
        """A paced send reached the broker at `at`: the next one waits a gap from here."""
        await self.sessions.update_one({"_id": session_id}, {"$max": {"pacing_state.last_handed_at": at}})

    async def due(self, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
        """Paced sends whose slot has come, handed to no worker yet, each session's in accepted order."""
        query = {**_WAITING, "paced_until": {"$ne": None, "$lte": now}}
        cursor = self.messages.find(query, _NO_OUTBOX).sort([("paced_until", ASCENDING), ("order", ASCENDING)])
        return await cursor.limit(limit).to_list(None)

    async def waiting(self, session_id: str) -> int:
        return await self.messages.count_documents({**_WAITING, "session_id": session_id})
