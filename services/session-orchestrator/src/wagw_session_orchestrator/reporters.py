"""Which worker may report about a session: the one the platform placed it on, and no other.

The speaker is the worker the broker vouches for (wagw_common.worker_speakers), never the body's
`worker_id`. Besides the session's own worker, the failover rules (see the README's Failover) allow
two cases. A session left waiting for a worker (RECONNECTING, no `worker_id`) may be adopted by the
worker it was moved from, which comes back still holding it after an outage. And a message that
reached the worker a failover moved the session from (`moved_from` during the move,
`former_worker_id` after it) is stored: that worker held the phone's link until it is told to stop
(a paused worker resumes still running it), so what it received is real and must not be lost."""

from __future__ import annotations

from typing import Any

from .lifecycle import RECONNECTING


def holds(session: dict[str, Any], worker_id: str) -> bool:
    return session.get("worker_id") == worker_id


def may_adopt(session: dict[str, Any], worker_id: str) -> bool:
    """A waiting session's former worker, back with it (a broker outage that declared every worker offline)."""
    return (session.get("worker_id") is None and session["status"] == RECONNECTING
            and session.get("moved_from") == worker_id)


def may_report_on(session: dict[str, Any], worker_id: str) -> bool:
    """Inbound messages: the session's worker, or the worker a failover last moved it from."""
    return holds(session, worker_id) or worker_id in (session.get("moved_from"), session.get("former_worker_id"))
