"""Which worker gets a new session: a pure ranking, so the policy can grow (a load score, drain,
affinity) without touching the atomic claim that enforces capacity in the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    worker_id: str
    free: int
    session_count: int
    max_sessions: int


def rank(candidates: list[Candidate]) -> list[str]:
    """Workers that can take a session, best first: most free slots, then the least loaded
    relative to its size, then by id so that the choice is deterministic."""
    usable = [c for c in candidates if c.free > 0]
    usable.sort(key=lambda c: (-c.free, c.session_count / max(c.max_sessions, 1), c.worker_id))
    return [c.worker_id for c in usable]


def choose(candidates: list[Candidate]) -> str | None:
    ranked = rank(candidates)
    return ranked[0] if ranked else None
