"""Which worker may report about a session or a send: the one the platform placed it on, and no other.

The speaker is the worker the broker vouches for (wagw_common.worker_speakers, the guard of both
worker queues), never the body's `worker_id`. Besides the session's own worker, the failover rules
(see the README's Failover) allow two cases. A session left waiting for a worker (RECONNECTING, no
`worker_id`) may be adopted by the worker it was moved from, which comes back still holding it after
an outage. And a message that reached the worker a failover moved the session from (`moved_from`
during the move, `former_worker_id` after it) is stored: that worker held the phone's link until it
is told to stop (a paused worker resumes still running it), so what it received is real and must not
be lost. A send's reports come only from the worker it was handed to (`routed_to`).

What is refused is counted, logged and dropped (`worker_speakers.refuse`), never turned into an event."""

from __future__ import annotations

from typing import Any

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import Envelope
from wagw_common.worker_speakers import MESSAGE_NOT_HANDED_TO_IT, SESSION_NOT_HELD, refuse

from .sessions_store import SessionsStore


def holds(session: dict[str, Any], worker_id: str) -> bool:
    return session.get("worker_id") == worker_id


def may_adopt(session: dict[str, Any], worker_id: str) -> bool:
    """A waiting session's former worker, back with it (a broker outage that declared every worker offline)."""
    return (session.get("worker_id") is None and session["status"] == SessionStatus.RECONNECTING
            and session.get("moved_from") == worker_id)


def may_report_on(session: dict[str, Any], worker_id: str) -> bool:
    """Inbound messages: the session's worker, or the worker a failover last moved it from."""
    return holds(session, worker_id) or worker_id in (session.get("moved_from"), session.get("former_worker_id"))


def from_assigned_worker(envelope: Envelope, session: dict[str, Any], speaker: str) -> bool:
    """The session's own worker; any other is refused. A worker that lost the session (failover,
    reconnect elsewhere) may still be talking about it; one that never held it is speaking about
    another tenant's session."""
    if holds(session, speaker):
        return True
    refuse(envelope, SESSION_NOT_HELD, session_id=session["_id"], worker_id=speaker,
           assigned_worker_id=session.get("worker_id"))
    return False


async def handed_to(envelope: Envelope, message: dict[str, Any], speaker: str, sessions: SessionsStore) -> bool:
    """Whether `speaker` may report on this send: it was handed to it. One handed to no worker (held,
    or taken back by a bounce) only by the worker its session is on."""
    routed_to = message.get("routed_to")
    if routed_to == speaker:
        return True
    if routed_to is None:
        session = await sessions.get(message["session_id"])
        if session is not None and holds(session, speaker):
            return True
    # A worker the message was taken from (it died, the session moved) must not rewrite its history.
    refuse(envelope, MESSAGE_NOT_HANDED_TO_IT, message_id=message["_id"], worker_id=speaker, routed_to=routed_to)
    return False
