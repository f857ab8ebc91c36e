"""One change of one session, planned against what was read and written as a compare-and-set.

A handler reads the session, decides (with the lifecycle table) what the session becomes and which
events say so, and `change_session` writes both in one update guarded by the session's `sequence`.
When another handler won the race it reads again and decides again, so concurrent reports about
the same session are serialised without locks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from wagw_common.broker import Publishing
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.logging import get_logger
from wagw_common.outbox import OutboxRelay

from . import clock, events
from .sessions_store import SessionsStore

log = get_logger(__name__)
_UNCHANGED = object()


class ConcurrentChanges(RuntimeError):
    """The session kept changing under us; the message is retried by the broker."""


class SessionChange:
    """The fields a session gets and the events (each with the next `sequence`) that report them."""

    def __init__(self, broker: Publishing, session: dict[str, Any]):
        self.broker = broker
        self.session = session
        self.fields: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []

    def _next_sequence(self) -> int:
        return self.session["sequence"] + len(self.entries) + 1

    def set(self, **fields: Any) -> "SessionChange":
        self.fields.update(fields)
        return self

    def move_to(self, status: str, *, reason: str | None = None, worker_id: Any = _UNCHANGED) -> "SessionChange":
        if worker_id is not _UNCHANGED:
            self.fields["worker_id"] = worker_id
        self.fields["status"] = status
        self.entries.append(events.session_status_changed(
            self.broker, self.session, previous=self.session["status"], status=status,
            worker_id=self.fields.get("worker_id", self.session.get("worker_id")), reason=reason,
            sequence=self._next_sequence(),
        ))
        return self

    def show_qr(self, qr: str, expires_at: datetime) -> "SessionChange":
        self.fields.update(qr=qr, qr_expires_at=expires_at)
        self.entries.append(events.session_qr_updated(
            self.broker, self.session, qr=qr, expires_at=expires_at, sequence=self._next_sequence(),
        ))
        return self

    def show_pairing_code(self, code: str, expires_at: datetime) -> "SessionChange":
        self.fields.update(pairing_code=code, pairing_code_expires_at=expires_at)
        self.entries.append(events.session_pairing_code(
            self.broker, self.session, code=code, expires_at=expires_at, sequence=self._next_sequence(),
        ))
        return self

    def describe(self, *, name: str, description: str) -> "SessionChange":
        self.fields.update(name=name, description=description)
        self.entries.append(events.session_updated(
            self.broker, self.session, name=name, description=description, sequence=self._next_sequence(),
        ))
        return self

    def pace(self, policy: dict[str, Any] | None) -> "SessionChange":
        """Set the send pacing policy as stored (None removes it); a policy equal to the one in force
        changes nothing and says nothing."""
        if policy == self.session.get("pacing"):
            return self
        self.fields.update(pacing=policy)
        self.entries.append(events.session_pacing_changed(
            self.broker, self.session, pacing=policy, sequence=self._next_sequence(),
        ))
        return self

    def delete(self, *, reason: str) -> "SessionChange":
        """DELETED (with its status event), then `session.deleted`: the cue for the owners of what
        hangs off a session (the gateway's API keys) to clean up."""
        self.move_to(SessionStatus.DELETED, reason=reason, worker_id=None)
        self.fields.update(qr=None, qr_expires_at=None, deleted_at=clock.now())
        self.entries.append(events.session_deleted(self.broker, self.session, sequence=self._next_sequence()))
        return self


Decide = Callable[[dict[str, Any], SessionChange], SessionChange | None]


async def change_session(store: SessionsStore, relay: OutboxRelay, broker: Publishing, session_id: str, decide: Decide,
                         *, attempts: int = 5, first_read: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Apply what `decide(session, change)` returns (None: nothing to do) and publish its events.
    Returns the session as written (or as found when unchanged); None if there is no such session.
    `decide` may raise a DomainError to refuse."""
    session = first_read
    for _ in range(attempts):
        if session is None:
            session = await store.get(session_id)
            if session is None:
                return None
        change = decide(session, SessionChange(broker, session))
        if change is None or not (change.fields or change.entries):
            return session
        written = await store.apply(session, change.fields, change.entries)
        if written is not None:
            await events.publish_outbox(relay, session_id, change.entries)
            return written
        log.info("session.changed_concurrently", session_id=session_id)
        session = None
    raise ConcurrentChanges(f"session {session_id} changed {attempts} times while being updated")
