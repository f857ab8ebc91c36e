"""The session state machine and the order of an outbound message's statuses, as data.

Handlers ask these tables whether a change is allowed (`can_move`, `command_accepted_from`,
`message_may_move`). A session's change is then written by compare-and-set on the status and
`sequence` it was decided on (session_change.py), and a message's step with its allowed predecessors
(`MESSAGE_PREDECESSORS`) in the update's filter, so the check and the write are one atomic step."""

from __future__ import annotations

from enum import Enum

from wagw_common.contracts.fields import MESSAGE_STATUSES
from wagw_common.contracts.session_statuses import SessionStatus

_LIVE = frozenset({SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED, SessionStatus.CONNECTED,
                   SessionStatus.RECONNECTING})

# Every edge a session may take, whoever causes it (a customer's command, a worker's report, the
# platform's failover). A worker report that is not an edge from the current status (a late QR after
# CONNECTED, say, or a report that crossed a customer's command) is ignored rather than applied.
# The diagram in the service's README is drawn from this table (a unit test keeps the two equal).
TRANSITIONS: dict[str, frozenset[str]] = {
    SessionStatus.DISCONNECTED: frozenset({
        SessionStatus.CONNECTING, SessionStatus.RECONNECTING, SessionStatus.LOGGED_OUT, SessionStatus.DELETED}),
    SessionStatus.CONNECTING: frozenset({
        SessionStatus.QR_REQUIRED, SessionStatus.CONNECTED, SessionStatus.RECONNECTING, SessionStatus.DISCONNECTED,
        SessionStatus.LOGGED_OUT, SessionStatus.ERROR, SessionStatus.DELETED}),
    SessionStatus.QR_REQUIRED: frozenset({
        SessionStatus.CONNECTING, SessionStatus.CONNECTED, SessionStatus.RECONNECTING, SessionStatus.DISCONNECTED,
        SessionStatus.LOGGED_OUT, SessionStatus.ERROR, SessionStatus.DELETED}),
    # No edge back to QR_REQUIRED: an unlinked phone is reported as LOGGED_OUT first.
    SessionStatus.CONNECTED: frozenset({
        SessionStatus.CONNECTING, SessionStatus.RECONNECTING, SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT,
        SessionStatus.ERROR, SessionStatus.DELETED}),
    SessionStatus.RECONNECTING: frozenset({
        SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED, SessionStatus.CONNECTED, SessionStatus.DISCONNECTED,
        SessionStatus.LOGGED_OUT, SessionStatus.ERROR, SessionStatus.DELETED}),
    SessionStatus.LOGGED_OUT: frozenset({SessionStatus.CONNECTING, SessionStatus.DELETED}),
    SessionStatus.ERROR: frozenset({
        SessionStatus.CONNECTING, SessionStatus.RECONNECTING, SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT,
        SessionStatus.DELETED}),
    SessionStatus.DELETED: frozenset(),
}


class Command(str, Enum):
    """What a customer (or the platform on their behalf) asks of a session."""

    CONNECT = "connect"        # phase 2: a worker, then a QR code
    PAIR = "pair"              # phase 2 with a pairing code instead of a QR code
    DISCONNECT = "disconnect"  # stop it on its worker; the phone stays linked (restore later)
    LOGOUT = "logout"          # stop it and unlink the phone (a new QR is needed next time)
    RESTART = "restart"        # stop it and start it again from stored credentials
    DELETE = "delete"          # stop it and remove it (see the cleanup policy in the README)
    FAILOVER = "failover"      # the platform moves it off a worker that went offline, drains or left


_ANY_BUT_DELETED = frozenset(TRANSITIONS) - {SessionStatus.DELETED}
_STOPPED = frozenset({SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT, SessionStatus.ERROR})

# command -> (the statuses it is accepted from, the status it moves the session to)
COMMANDS: dict[Command, tuple[frozenset[str], str]] = {
    # A session that is already live is not connected twice: that would start it on two workers.
    Command.CONNECT: (_STOPPED, SessionStatus.CONNECTING),
    Command.PAIR: (_STOPPED, SessionStatus.CONNECTING),
    Command.DISCONNECT: (_LIVE | {SessionStatus.ERROR}, SessionStatus.DISCONNECTED),
    # Also from DISCONNECTED and ERROR: a stopped session may still have a linked phone to unlink.
    Command.LOGOUT: (_LIVE | {SessionStatus.DISCONNECTED, SessionStatus.ERROR}, SessionStatus.LOGGED_OUT),
    Command.RESTART: (
        frozenset({SessionStatus.DISCONNECTED, SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED,
                   SessionStatus.CONNECTED, SessionStatus.ERROR}),
        SessionStatus.RECONNECTING),
    Command.DELETE: (_ANY_BUT_DELETED, SessionStatus.DELETED),
    # From RECONNECTING too (its new worker died as well): then only the worker changes, no status edge.
    Command.FAILOVER: (_LIVE, SessionStatus.RECONNECTING),
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


def mermaid() -> str:
    """The transition table as a Mermaid state diagram (the service's README shows it; a test keeps
    the two equal). Edges that a command takes are labelled with it."""
    labels: dict[tuple[str, str], list[str]] = {}
    for command, (sources, target) in COMMANDS.items():
        for source in sources:
            if source != target:
                labels.setdefault((source, target), []).append(command.value)
    lines = ["stateDiagram-v2", f"    [*] --> {SessionStatus.DISCONNECTED}: create"]
    for source, targets in TRANSITIONS.items():
        for target in sorted(targets):
            label = ", ".join(sorted(labels.get((source, target), [])))
            lines.append(f"    {source} --> {target}" + (f": {label}" if label else ""))
    lines.append(f"    {SessionStatus.DELETED} --> [*]")
    return "\n".join(lines)


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


def message_overtaken(current: str, target: str) -> bool:
    """`target` is a step the message went through although a later status was reported first
    (receipts race one another): it belongs in the timeline, and its event to the customer."""
    return (current != FAILED and target not in (QUEUED, FAILED)
            and target in MESSAGE_PREDECESSORS.get(current, frozenset()))

