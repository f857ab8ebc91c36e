"""Recovery: which sessions a worker that registers again should hold (the seed's recovery flow).

The registry keeps, for each worker, the sessions of its last heartbeat and those chosen for it
since. When it registers, it is sent `worker.sessions.assigned` with those of them that no other
worker has taken over more recently (reported in a later heartbeat, or chosen for it later); it
restores each one it does not hold. Each entry carries `as_of`, the time the registry's knowledge
of it dates from, so the worker can let a stop command sent later win over the list."""

from __future__ import annotations

from datetime import datetime

from .fleet import beat_of


def _claims(doc: dict) -> dict[str, datetime]:
    """session id -> since when this worker's record claims it."""
    reported_at = beat_of(doc)["sent_at"] or doc["registered_at"]
    claims = {s["session_id"]: reported_at for s in doc.get("sessions", [])}
    for pending in doc.get("pending", []):
        claims[pending["session_id"]] = max(pending["at"], claims.get(pending["session_id"], pending["at"]))
    return claims


def assigned_sessions(doc: dict, others: list[dict]) -> list[dict]:
    """The sessions `doc`'s worker should hold: its claims, less those another record claims later."""
    mine = _claims(doc)
    newest_elsewhere: dict[str, datetime] = {}
    for other in others:
        for session_id, at in _claims(other).items():
            if session_id in mine:
                newest_elsewhere[session_id] = max(at, newest_elsewhere.get(session_id, at))
    return [{"session_id": session_id, "as_of": at} for session_id, at in mine.items()
            if session_id not in newest_elsewhere or newest_elsewhere[session_id] <= at]
