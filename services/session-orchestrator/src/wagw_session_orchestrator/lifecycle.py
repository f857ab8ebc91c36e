"""The session state machine and the order of an outbound message's statuses, as data.

Handlers never compare statuses by hand: they ask this table. Each guard is also turned into an
update filter (`sources_of`, `MESSAGE_PREDECESSORS`), so the check and the write are one atomic step."""

from __future__ import annotations

from enum import Enum

from wagw_common.contracts.fields import MESSAGE_STATUSES

DISCONNECTED = "DISCONNECTED"
CONNECTING = "CONNECTING"
QR_REQUIRED = "QR_REQUIRED"
CONNECTED = "CONNECTED"
RECONNECTING = "RECONNECTING"
LOGGED_OUT = "LOGGED_OUT"
ERROR = "ERROR"
DELETED = "DELETED"

_LIVE = frozenset({CONNECTING, QR_REQUIRED, CONNECTED, RECONNECTING})

# Every edge a session may take, whoever causes it. A worker report that is not an edge from the
# current status (a late QR after CONNECTED, say: uplink messages are handled concurrently) is
# ignored rather than applied out of order.
TRANSITIONS: dict[str, frozenset[str]] = {
    DISCONNECTED: frozenset({CONNECTING, DELETED}),
    CONNECTING: frozenset({QR_REQUIRED, CONNECTED, RECONNECTING, DISCONNECTED, LOGGED_OUT, ERROR, DELETED}),
    QR_REQUIRED: frozenset({CONNECTING, CONNECTED, RECONNECTING, DISCONNECTED, LOGGED_OUT, ERROR, DELETED}),
    # No edge back to QR_REQUIRED: an unlinked phone is reported as LOGGED_OUT first.
    CONNECTED: frozenset({CONNECTING, RECONNECTING, DISCONNECTED, LOGGED_OUT, ERROR, DELETED}),
    RECONNECTING: frozenset({CONNECTING, QR_REQUIRED, CONNECTED, DISCONNECTED, LOGGED_OUT, ERROR, DELETED}),
    LOGGED_OUT: frozenset({CONNECTING, DELETED}),
    ERROR: frozenset({CONNECTING, DISCONNECTED, DELETED}),
    DELETED: frozenset(),
}


class Command(str, Enum):
    """What a customer (or the platform on their behalf) asks of a session."""

    CONNECT = "connect"
    # The deeper lifecycle adds LOGOUT, RESTART, DELETE and FAILOVER here, each with its row below.


# command -> (the statuses it is accepted from, the status it moves the session to)
COMMANDS: dict[Command, tuple[frozenset[str], str]] = {
    # A session that is already live is not connected twice: that would start it on two workers.
    Command.CONNECT: (frozenset({DISCONNECTED, LOGGED_OUT, ERROR}), CONNECTING),
}


def can_move(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def sources_of(target: str) -> frozenset[str]:
    """The statuses from which `target` may be reached."""
    return frozenset(status for status, targets in TRANSITIONS.items() if target in targets)


def command_accepted_from(command: Command) -> frozenset[str]:
    return COMMANDS[command][0]


def command_target(command: Command) -> str:
    return COMMANDS[command][1]


def is_live(status: str) -> bool:
    """Held by a worker (or about to be)."""
    return status in _LIVE


# Outbound message statuses only move forward; `failed` can only interrupt a message not yet delivered.
QUEUED, SENT, DELIVERED, READ, FAILED = MESSAGE_STATUSES
MESSAGE_PREDECESSORS: dict[str, frozenset[str]] = {
    QUEUED: frozenset(),
    SENT: frozenset({QUEUED}),
    DELIVERED: frozenset({QUEUED, SENT}),
    READ: frozenset({QUEUED, SENT, DELIVERED}),
    FAILED: frozenset({QUEUED, SENT}),
}
RECEIVED = "received"  # the status of an inbound message; it has no timeline of its own


def message_may_move(current: str, target: str) -> bool:
    return current in MESSAGE_PREDECESSORS.get(target, frozenset())

