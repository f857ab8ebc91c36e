"""What each worker message or administrator's request does to a worker's record: pure functions.

Each takes the stored document (or None) and returns the `Change` to write, or None when there is
nothing to do. The store applies a change only if the document is still the one it was computed
from (its `rev`), so two replicas, or two messages handled at once, can never both emit an event.

States: online → (drain) draining → (undrain) online; online/draining → offline when it unregisters
or misses its heartbeats, and back (to draining if an administrator drained it) when it registers or
beats again; any → removed by an administrator (the record is deleted once its event is out).
Capacity: `free` = max_sessions − session_count − assigned, where `assigned` counts the sessions
chosen for the worker (`pending`) that its heartbeats have not reported yet.

What the last heartbeat said is one subdocument, `beat` (its `sent_at` first, then the session
count, breakdown, digest of the sessions, CPU and memory), so that `$max` on it keeps the newest
heartbeat whatever order two of them are written in (see `steady_heartbeat`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from wagw_common.contracts.workers import BREAKDOWN_BUCKETS
from wagw_common.errors import Conflict

ONLINE, OFFLINE, DRAINING, REMOVED = "online", "offline", "draining", "removed"
KEEP_OFFLINE_TIMES = 10


@dataclass(frozen=True)
class Change:
    fields: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    create: bool = False  # `fields` is a whole new document


@dataclass(frozen=True)
class SteadyBeat:
    """A heartbeat that changes no state: the new `beat`, liveness, and the sessions if they changed."""

    beat: dict[str, Any]
    last_heartbeat_at: datetime
    expires_at: datetime
    sessions: list[dict] | None
    free_delta: int  # fewer sessions, more free slots (an `$inc`, so it adds up with concurrent claims)


def sessions_digest(sessions: list[dict]) -> str:
    """Tells whether a heartbeat's sessions differ from the stored ones without reading them."""
    pairs = sorted((s["session_id"], s["status"]) for s in sessions)
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:24]


def capacity(max_sessions: int, session_count: int, pending: list[dict]) -> dict[str, int]:
    assigned = len(pending)
    return {"assigned": assigned, "free": max(0, max_sessions - session_count - assigned)}


def breakdown(sessions: list[dict]) -> dict[str, int]:
    counts = {bucket: 0 for bucket in BREAKDOWN_BUCKETS}
    bucket_of = {status: bucket for bucket, statuses in BREAKDOWN_BUCKETS.items() for status in statuses}
    for session in sessions:
        counts[bucket_of[session["status"]]] += 1
    return counts


def beat_of(doc: dict) -> dict[str, Any]:
    """The last heartbeat's summary (empty until the first one)."""
    return doc.get("beat") or new_beat(None, [], None, None)


def new_beat(sent_at: datetime | None, sessions: list[dict], cpu_percent: float | None,
             memory_mb: float | None) -> dict[str, Any]:
    # Key order matters: `sent_at` first, so that comparing two beats compares their times.
    return {"sent_at": sent_at, "session_count": len(sessions), "breakdown": breakdown(sessions),
            "digest": sessions_digest(sessions), "cpu_percent": cpu_percent, "memory_mb": memory_mb}


def held_session_ids(doc: dict) -> list[str]:
    """Sessions the worker reported plus those chosen for it since: all of them need a new home."""
    ids = [s["session_id"] for s in doc.get("sessions", [])] + [p["session_id"] for p in doc.get("pending", [])]
    return list(dict.fromkeys(ids))


def _event(state: str, doc_or_id: dict | str, reason: str, session_ids: list[str]) -> tuple[str, dict]:
    worker_id = doc_or_id if isinstance(doc_or_id, str) else doc_or_id["_id"]
    return f"worker.{state}", {"worker_id": worker_id, "state": state, "reason": reason, "session_ids": session_ids}


def _deadline(now: datetime, interval: float, missed: int) -> datetime:
    return now + timedelta(seconds=interval * missed)


def _is_stale(doc: dict, sent_at: datetime) -> bool:
    # Messages of one worker can be handled out of order (several in flight, redeliveries): one
    # older than the last applied must not undo it (a heartbeat resurrecting an unregistered worker).
    last = doc.get("last_sent_at")
    return last is not None and sent_at < last


def _back(doc: dict, fields: dict, reason: str, session_ids: list[str]) -> Change:
    """An offline worker speaks again: online, or draining if an administrator drained it."""
    state = DRAINING if doc.get("drain_requested") else ONLINE
    return Change({**fields, "state": state}, [_event(state, doc, reason, session_ids)])


def registered(doc: dict | None, *, msg: dict, now: datetime, sent_at: datetime, missed: int) -> Change | None:
    interval = msg["heartbeat_interval_seconds"]
    identity = {
        "version": msg["version"], "environment": msg["environment"], "endpoint": msg["endpoint"],
        "max_sessions": msg["capacity"]["max_sessions"], "cpu_cores": msg["capacity"]["cpu_cores"],
        "memory_limit_mb": msg["capacity"]["memory_limit_mb"], "heartbeat_interval": interval,
        "last_heartbeat_at": now, "expires_at": _deadline(now, interval, missed), "last_sent_at": sent_at,
    }
    if doc is None or doc["state"] == REMOVED:
        fresh = {
            "_id": msg["worker_id"], **identity, "state": ONLINE, "drain_requested": False, "sessions": [],
            "beat": new_beat(None, [], None, None), "registered_at": now, "pending": [], "recent_offline_at": [],
            **capacity(identity["max_sessions"], 0, []), "rev": 0,
        }
        online = _event(ONLINE, msg["worker_id"], "registered", [])
        if doc is None:
            return Change(fresh, [online], create=True)
        return Change({k: v for k, v in fresh.items() if k not in ("_id", "rev")}, [online])  # a new life
    if _is_stale(doc, sent_at):
        return None
    fields = {**identity, **capacity(identity["max_sessions"], beat_of(doc)["session_count"], doc.get("pending", []))}
    if doc["state"] == OFFLINE:
        return _back(doc, fields, "registered", held_session_ids(doc))
    return Change(fields)  # already online or draining: draining is an administrator's decision


def heartbeat(doc: dict, *, msg: dict, now: datetime, sent_at: datetime, grace: float, missed: int) -> Change | None:
    if _is_stale(doc, sent_at):
        return None
    sessions = msg["sessions"]
    reported = {s["session_id"] for s in sessions}
    oldest_kept = now - timedelta(seconds=grace)
    pending = [p for p in doc.get("pending", []) if p["session_id"] not in reported and p["at"] >= oldest_kept]
    fields = {
        "sessions": sessions, "beat": new_beat(sent_at, sessions, msg["cpu_percent"], msg["memory_mb"]),
        "last_heartbeat_at": now, "expires_at": _deadline(now, doc.get("heartbeat_interval", 10.0), missed),
        "last_sent_at": sent_at, "pending": pending, **capacity(doc["max_sessions"], len(sessions), pending),
    }
    if doc["state"] == OFFLINE:
        return _back(doc, fields, "heartbeat resumed", [s["session_id"] for s in sessions])
    return Change(fields)


def steady_heartbeat(doc: dict, *, msg: dict, now: datetime, sent_at: datetime, missed: int) -> SteadyBeat | None:
    """The common heartbeat: a live worker with nothing to reconcile (no session chosen for it
    waiting to be confirmed, its free slots in order and staying within its capacity, not older than
    what was applied). It is written without a guard: `$max` keeps the newest beat and liveness,
    `free` moves by `$inc`. Anything else (None) goes through `heartbeat` and a guarded write; so does
    the next heartbeat after two of them raced and left `free` off."""
    sessions, last = msg["sessions"], beat_of(doc)
    if doc["state"] not in (ONLINE, DRAINING) or doc.get("pending") or _is_stale(doc, sent_at):
        return None
    before, after = last["session_count"], len(sessions)
    if doc.get("free") != doc["max_sessions"] - before or doc["max_sessions"] - after < 0:
        return None
    beat = new_beat(sent_at, sessions, msg["cpu_percent"], msg["memory_mb"])
    return SteadyBeat(beat, now, _deadline(now, doc.get("heartbeat_interval", 10.0), missed),
                      sessions if beat["digest"] != last["digest"] else None, before - after)


def _gone(doc: dict, reason: str, now: datetime, extra: dict[str, Any]) -> Change:
    event = _event(OFFLINE, doc, reason, held_session_ids(doc))
    offline_times = [*doc.get("recent_offline_at", []), now][-KEEP_OFFLINE_TIMES:]
    # Its sessions are moved elsewhere; what it reported stays on record for a later recovery.
    return Change({**extra, "state": OFFLINE, "pending": [], "assigned": 0, "free": 0,
                   "recent_offline_at": offline_times}, [event])


def unregistered(doc: dict, *, now: datetime, sent_at: datetime) -> Change | None:
    if _is_stale(doc, sent_at):
        return None
    if doc["state"] == OFFLINE:
        return Change({"last_sent_at": sent_at})
    return _gone(doc, "unregistered", now, {"last_sent_at": sent_at})


def is_silent(doc: dict, now: datetime, behind: float = 0.0, heard_since: datetime | None = None) -> bool:
    """Past its deadline, by more than the registry itself is behind in reading heartbeats (a
    heartbeat still waiting in the queue is not a missed one), and a whole window after
    `heard_since` (when the registry's broker connection came back, plus time for workers to come
    back too): no heartbeat is sent while the broker is away, so none was missed. Without that, a
    broker restart longer than the window would declare the whole fleet offline and move every
    session at once, though every worker is back seconds later with its sessions intact."""
    if doc["state"] not in (ONLINE, DRAINING) or doc["expires_at"] >= now - timedelta(seconds=behind):
        return False
    window = doc["expires_at"] - doc["last_heartbeat_at"]
    return heard_since is None or heard_since + window < now


def timed_out(doc: dict, *, now: datetime, behind: float = 0.0, heard_since: datetime | None = None) -> Change | None:
    if not is_silent(doc, now, behind, heard_since):
        return None  # it beat (or left) since we looked
    return _gone(doc, "heartbeat timeout", now, {})


def drained(doc: dict, *, reason: str) -> Change:
    if doc["state"] != ONLINE:
        return Change({"drain_requested": True})  # draining already, or offline: its sessions were announced
    fields = {"state": DRAINING, "drain_requested": True, "pending": [],
              **capacity(doc["max_sessions"], beat_of(doc)["session_count"], [])}
    return Change(fields, [_event(DRAINING, doc, reason, held_session_ids(doc))])


def undrained(doc: dict) -> Change:
    if doc["state"] != DRAINING:
        return Change({"drain_requested": False})
    online = _event(ONLINE, doc, "drain cancelled", [s["session_id"] for s in doc.get("sessions", [])])
    return Change({"state": ONLINE, "drain_requested": False}, [online])


def removed(doc: dict, *, force: bool, reason: str) -> Change:
    if doc["state"] == ONLINE and not force:
        raise Conflict("the worker is online: drain it first, or remove it with force",
                       {"state": doc["state"]})
    event = _event(REMOVED, doc, reason, held_session_ids(doc))
    return Change({"state": REMOVED, "pending": [], "assigned": 0, "free": 0}, [event])
