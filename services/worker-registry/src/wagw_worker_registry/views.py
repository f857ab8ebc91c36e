"""What the registry tells others about workers: the contracts' views, computed from the records."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from .fleet import DRAINING, OFFLINE, ONLINE, beat_of
from .score import Candidate, score


def candidate(doc: dict) -> Candidate:
    beat = beat_of(doc)
    parts = beat["breakdown"]
    return Candidate(
        worker_id=doc["_id"], state=doc["state"], free=doc.get("free", 0), max_sessions=doc["max_sessions"],
        session_count=beat["session_count"], heartbeat_interval=doc.get("heartbeat_interval", 10.0),
        last_heartbeat_at=doc.get("last_heartbeat_at"), expires_at=doc.get("expires_at"),
        cpu_percent=beat["cpu_percent"], memory_mb=beat["memory_mb"], cpu_cores=doc.get("cpu_cores"),
        memory_limit_mb=doc.get("memory_limit_mb"),
        troubled_sessions=parts.get("connecting", 0) + parts.get("error", 0),
        recent_offline_at=tuple(doc.get("recent_offline_at", [])),
    )


def worker_view(doc: dict, now: datetime) -> dict:
    beat = beat_of(doc)
    return {
        "worker_id": doc["_id"], "version": doc["version"], "environment": doc.get("environment", "development"),
        "endpoint": doc.get("endpoint"), "state": doc["state"], "drain_requested": doc.get("drain_requested", False),
        "max_sessions": doc["max_sessions"], "session_count": beat["session_count"],
        "assigned": doc.get("assigned", 0), "free": doc.get("free", 0), "breakdown": beat["breakdown"],
        "cpu_percent": beat["cpu_percent"], "memory_mb": beat["memory_mb"],
        "heartbeat_interval_seconds": doc.get("heartbeat_interval", 10.0),
        "registered_at": doc.get("registered_at", doc["last_heartbeat_at"]),
        "last_heartbeat_at": doc["last_heartbeat_at"], "score": score(candidate(doc), now),
    }


def worker_list(docs: list[dict], now: datetime) -> dict:
    return {"workers": [worker_view(d, now) for d in docs]}


def worker_detail(doc: dict, now: datetime) -> dict:
    return {**worker_view(doc, now), "sessions": doc.get("sessions", []), "pending": doc.get("pending", []),
            "recent_offline_at": doc.get("recent_offline_at", [])}


def _average(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def fleet_stats(docs: list[dict]) -> dict:
    states = Counter(d["state"] for d in docs)
    live = [(d, beat_of(d)) for d in docs if d["state"] in (ONLINE, DRAINING)]
    online = [d for d in docs if d["state"] == ONLINE]
    sessions = sum(beat["session_count"] for _, beat in live)
    live_capacity = sum(d["max_sessions"] for d, _ in live)
    totals: Counter[str] = Counter()
    for _, beat in live:
        totals.update(beat["breakdown"])
    return {
        "workers": {"total": len(docs), "online": states[ONLINE], "draining": states[DRAINING],
                    "offline": states[OFFLINE]},
        "capacity": {"max_sessions": sum(d["max_sessions"] for d in online), "sessions": sessions,
                     "assigned": sum(d.get("assigned", 0) for d in online),
                     "free": sum(d.get("free", 0) for d in online),
                     "utilisation": round(sessions / live_capacity, 4) if live_capacity else 0.0},
        "sessions": {**beat_of({})["breakdown"], **totals},
        "cpu_percent_avg": _average([b["cpu_percent"] for _, b in live if b["cpu_percent"] is not None]),
        "memory_mb_avg": _average([b["memory_mb"] for _, b in live if b["memory_mb"] is not None]),
        "versions": dict(Counter(d["version"] for d in docs)),
    }
