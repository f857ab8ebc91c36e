"""What each worker message does to a worker's record: pure functions, no I/O.

Each takes the stored document (or None) and returns the `Change` to write, or None when there is
nothing to do. The store applies a change only if the document is still the one it was computed
from (its `rev`), so two replicas, or two messages handled at once, can never both emit an event.

Capacity: `free` = max_sessions − session_count − assigned, where `assigned` counts the sessions
chosen for the worker (`pending`) that its heartbeats have not reported yet. `worker.select`
decrements `free` in a conditional update, so concurrent choices cannot overfill a worker."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

ONLINE, OFFLINE, DRAINING = "online", "offline", "draining"
WORKER_ONLINE, WORKER_OFFLINE = "worker.online", "worker.offline"


@dataclass(frozen=True)
class Change:
    fields: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    create: bool = False  # `fields` is a whole new document


def capacity(max_sessions: int, session_count: int, pending: list[dict]) -> dict[str, int]:
    assigned = len(pending)
    return {"assigned": assigned, "free": max(0, max_sessions - session_count - assigned)}


def held_session_ids(doc: dict) -> list[str]:
    """Sessions the worker reported plus those chosen for it since: all of them need a new home."""
    ids = [s["session_id"] for s in doc.get("sessions", [])] + [p["session_id"] for p in doc.get("pending", [])]
    return list(dict.fromkeys(ids))


def _state_event(event_type: str, worker_id: str, state: str, reason: str, session_ids: list[str]):
    return event_type, {"worker_id": worker_id, "state": state, "reason": reason, "session_ids": session_ids}


def _is_stale(doc: dict, sent_at: datetime) -> bool:
    # Messages of one worker can be handled out of order (several in flight, redeliveries): one
    # older than the last applied must not undo it (a heartbeat resurrecting an unregistered worker).
    # Envelope times have millisecond precision: two messages of the same millisecond both apply.
    last = doc.get("last_sent_at")
    return last is not None and sent_at < last


def registered(doc: dict | None, *, msg: dict, now: datetime, sent_at: datetime) -> Change | None:
    worker_id = msg["worker_id"]
    identity = {
        "version": msg["version"], "environment": msg["environment"], "endpoint": msg["endpoint"],
        "max_sessions": msg["capacity"]["max_sessions"], "last_heartbeat_at": now, "last_sent_at": sent_at,
    }
    online = _state_event(WORKER_ONLINE, worker_id, ONLINE, "registered", [])
    if doc is None:
        document = {
            "_id": worker_id, **identity, "state": ONLINE, "sessions": [], "session_count": 0, "breakdown": {},
            "cpu_percent": None, "memory_mb": None, "registered_at": now, "heartbeat_sent_at": None,
            "pending": [], **capacity(identity["max_sessions"], 0, []), "rev": 0,
        }
        return Change(document, [online], create=True)
    if _is_stale(doc, sent_at):
        return None
    fields = {**identity, **capacity(identity["max_sessions"], doc.get("session_count", 0), doc.get("pending", []))}
    if doc["state"] == OFFLINE:
        # A draining worker that re-registers stays draining: draining is an operator's decision.
        return Change({**fields, "state": ONLINE}, [online])
    return Change(fields)


def heartbeat(doc: dict, *, msg: dict, now: datetime, sent_at: datetime, grace: float) -> Change | None:
    if _is_stale(doc, sent_at):
        return None
    sessions = msg["sessions"]
    reported = {s["session_id"] for s in sessions}
    oldest_kept = now - timedelta(seconds=grace)
    pending = [p for p in doc.get("pending", []) if p["session_id"] not in reported and p["at"] >= oldest_kept]
    fields = {
        "sessions": sessions, "session_count": len(sessions), "breakdown": dict(Counter(s["status"] for s in sessions)),
        "cpu_percent": msg["cpu_percent"], "memory_mb": msg["memory_mb"], "last_heartbeat_at": now,
        "heartbeat_sent_at": sent_at, "last_sent_at": sent_at, "pending": pending,
        **capacity(doc["max_sessions"], len(sessions), pending),
    }
    if doc["state"] == OFFLINE:
        held = [s["session_id"] for s in sessions]
        event = _state_event(WORKER_ONLINE, doc["_id"], ONLINE, "heartbeat resumed", held)
        return Change({**fields, "state": ONLINE}, [event])
    return Change(fields)


def _gone(doc: dict, reason: str, extra: dict[str, Any]) -> Change:
    event = _state_event(WORKER_OFFLINE, doc["_id"], OFFLINE, reason, held_session_ids(doc))
    # Its sessions are moved elsewhere; what it reported stays on record for a later recovery.
    return Change({**extra, "state": OFFLINE, "pending": [], "assigned": 0, "free": 0}, [event])


def unregistered(doc: dict, *, sent_at: datetime) -> Change | None:
    if _is_stale(doc, sent_at):
        return None
    if doc["state"] == OFFLINE:
        return Change({"last_sent_at": sent_at})
    return _gone(doc, "unregistered", {"last_sent_at": sent_at})


def silent_cutoff(now: datetime, offline_after: float) -> datetime:
    """Workers whose last heartbeat is older than this are declared offline."""
    return now - timedelta(seconds=offline_after)


def is_silent(doc: dict, cutoff: datetime) -> bool:
    return doc["state"] != OFFLINE and doc["last_heartbeat_at"] < cutoff


def timed_out(doc: dict, *, cutoff: datetime) -> Change | None:
    if not is_silent(doc, cutoff):
        return None  # it beat (or left) since we looked
    return _gone(doc, "heartbeat timeout", {})
