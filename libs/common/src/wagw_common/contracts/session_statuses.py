"""A session's statuses, declared once: what the orchestrator records, what a worker reports, how a
heartbeat sums them up and which of them take sends. Everything else names them from here."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    DISCONNECTED = "DISCONNECTED"  # created, or stopped: no worker holds it
    CONNECTING = "CONNECTING"  # placed on a worker, which is starting it
    QR_REQUIRED = "QR_REQUIRED"  # waiting for the phone to scan the QR code (or enter the pairing code)
    CONNECTED = "CONNECTED"
    RECONNECTING = "RECONNECTING"  # was connected; its worker (or a new one, after a failover) is restoring it
    LOGGED_OUT = "LOGGED_OUT"  # unlinked from the phone: it must be scanned again
    ERROR = "ERROR"
    DELETED = "DELETED"  # only the orchestrator's record: no worker reports it


# As plain strings (what the contracts' choices and the documents list), in the order they are documented.
SESSION_STATUSES: tuple[str, ...] = tuple(status.value for status in SessionStatus)
# What a worker may report of a session it holds.
WORKER_SESSION_STATUSES: tuple[str, ...] = tuple(status.value for status in (
    SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED, SessionStatus.CONNECTED, SessionStatus.RECONNECTING,
    SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT, SessionStatus.ERROR,
))
# How a heartbeat's sessions are summed up: bucket -> the statuses it counts.
BREAKDOWN_BUCKETS: dict[str, tuple[str, ...]] = {
    "connected": (SessionStatus.CONNECTED.value,),
    "connecting": (SessionStatus.CONNECTING.value, SessionStatus.RECONNECTING.value),
    "qr_required": (SessionStatus.QR_REQUIRED.value,),
    "disconnected": (SessionStatus.DISCONNECTED.value, SessionStatus.LOGGED_OUT.value),
    "error": (SessionStatus.ERROR.value,),
}
# Sends are taken (routed now, or held while the platform moves the session between workers).
ACCEPTS_SENDS: frozenset[str] = frozenset({SessionStatus.CONNECTED.value, SessionStatus.RECONNECTING.value})
