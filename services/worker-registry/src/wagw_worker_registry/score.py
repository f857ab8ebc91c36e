"""The load-balancing score: which worker takes a new session. A pure function of what the registry
knows about a worker, so it is tested without a database and explained in the README.

    score = 0.4 × capacity + 0.2 × health + 0.2 × resources + 0.2 × stability      (each 0..1)

- capacity: free slots / max sessions (an empty worker 1, a full one 0);
- health: heartbeat punctuality: 1 while the last heartbeat is at most one interval old, falling to
  0 at the moment the worker would be declared offline;
- resources: 1 − the larger of CPU use (of the cores it announced, else of one core) and memory use
  (of the limit it announced; unknown counts as none);
- stability: 1 / (1 + times it went offline in the last hour), times the share of its sessions that
  are not reconnecting or in error.

Only an online worker with a free slot has a score; a draining, offline or full one never gets a
session. Ties go to the worker with more free slots, then to the lower id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

WEIGHTS = {"capacity": 0.4, "health": 0.2, "resources": 0.2, "stability": 0.2}
FLAP_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Candidate:
    worker_id: str
    state: str
    free: int
    max_sessions: int
    session_count: int = 0
    heartbeat_interval: float = 10.0
    last_heartbeat_at: datetime | None = None
    expires_at: datetime | None = None
    cpu_percent: float | None = None
    memory_mb: float | None = None
    cpu_cores: float | None = None
    memory_limit_mb: float | None = None
    troubled_sessions: int = 0  # connecting again, or in error
    recent_offline_at: tuple[datetime, ...] = field(default=())


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def factors(c: Candidate, now: datetime) -> dict[str, float] | None:
    """Each part of the score, or None when the worker must not get a session."""
    if c.state != "online" or c.free <= 0 or c.max_sessions <= 0:
        return None
    capacity = c.free / c.max_sessions
    health = 1.0
    if c.last_heartbeat_at is not None and c.expires_at is not None:
        late = (now - c.last_heartbeat_at).total_seconds() - c.heartbeat_interval
        tolerance = (c.expires_at - c.last_heartbeat_at).total_seconds() - c.heartbeat_interval
        health = 1.0 if late <= 0 else (0.0 if tolerance <= 0 else 1 - late / tolerance)
    cpu = (c.cpu_percent or 0.0) / (100.0 * (c.cpu_cores or 1.0))
    memory = (c.memory_mb or 0.0) / c.memory_limit_mb if c.memory_limit_mb else 0.0
    resources = 1 - max(cpu, memory)
    flaps = sum(1 for at in c.recent_offline_at if now - at <= FLAP_WINDOW)
    troubled = c.troubled_sessions / c.session_count if c.session_count else 0.0
    stability = (1 - _clamp(troubled)) / (1 + flaps)
    return {"capacity": _clamp(capacity), "health": _clamp(health), "resources": _clamp(resources),
            "stability": _clamp(stability)}


def score(c: Candidate, now: datetime) -> float | None:
    parts = factors(c, now)
    if parts is None:
        return None
    return round(sum(WEIGHTS[name] * value for name, value in parts.items()), 4)


def rank(candidates: list[Candidate], now: datetime) -> list[str]:
    """The workers that may take a session, best first."""
    scored = [(score(c, now), c) for c in candidates]
    usable = [(s, c) for s, c in scored if s is not None]
    usable.sort(key=lambda sc: (-sc[0], -sc[1].free, sc[1].worker_id))
    return [c.worker_id for _, c in usable]
