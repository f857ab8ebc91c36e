"""What the registry tells others about a worker: the `WorkerView` contract, nothing more."""

from __future__ import annotations

from .selection import Candidate


def worker_view(doc: dict) -> dict:
    return {
        "worker_id": doc["_id"],
        "version": doc["version"],
        "state": doc["state"],
        "max_sessions": doc["max_sessions"],
        "session_count": doc.get("session_count", 0),
        "last_heartbeat_at": doc["last_heartbeat_at"],
    }


def worker_list(docs: list[dict]) -> dict:
    return {"workers": [worker_view(d) for d in docs]}


def candidate(doc: dict) -> Candidate:
    return Candidate(worker_id=doc["_id"], free=doc.get("free", 0), session_count=doc.get("session_count", 0),
                     max_sessions=doc["max_sessions"])
