"""Which worker may report about a session: the one the platform placed it on, and no other.

The speaker is the worker the broker vouches for (wagw_common.worker_speakers), never the body's
`worker_id`. Besides the session's own worker, one case is allowed by the failover rules (see the
README's Failover): a session left waiting for a worker (RECONNECTING, no `worker_id`) may be
adopted by the worker it was moved from, which comes back still holding it after an outage."""

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
    """Inbound messages: the session's worker, or a waiting session's former worker still running it."""
    return holds(session, worker_id) or may_adopt(session, worker_id)
