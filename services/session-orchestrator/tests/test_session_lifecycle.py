import pytest

from wagw_common.contracts.fields import MESSAGE_STATUSES, SESSION_STATUSES
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.contracts.workers import WORKER_SESSION_STATUSES
from wagw_session_orchestrator import lifecycle as lc

pytestmark = pytest.mark.unit


def test_every_contract_status_has_a_row_and_every_edge_ends_at_a_known_status():
    assert set(lc.TRANSITIONS) == set(SESSION_STATUSES)
    for targets in lc.TRANSITIONS.values():
        assert targets <= set(SESSION_STATUSES)


def test_no_status_moves_to_itself():
    # A report of the status a session already has is "unchanged", not a transition with an event.
    assert all(status not in targets for status, targets in lc.TRANSITIONS.items())


def test_every_command_edge_is_in_the_table():
    for command in lc.Command:
        target = lc.command_target(command)
        for source in lc.command_accepted_from(command):
            # FAILOVER of a session already RECONNECTING changes only its worker.
            assert lc.can_move(source, target) or (command is lc.Command.FAILOVER and source == target)


@pytest.mark.parametrize("command, accepted, target", [
    (lc.Command.PAIR, {SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT, SessionStatus.ERROR},
     SessionStatus.CONNECTING),
    (lc.Command.DISCONNECT, {SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED, SessionStatus.CONNECTED,
                             SessionStatus.RECONNECTING, SessionStatus.ERROR}, SessionStatus.DISCONNECTED),
    (lc.Command.LOGOUT, {SessionStatus.DISCONNECTED, SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED,
                         SessionStatus.CONNECTED, SessionStatus.RECONNECTING, SessionStatus.ERROR},
     SessionStatus.LOGGED_OUT),
    (lc.Command.RESTART, {SessionStatus.DISCONNECTED, SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED,
                          SessionStatus.CONNECTED, SessionStatus.ERROR}, SessionStatus.RECONNECTING),
    (lc.Command.DELETE, set(lc.TRANSITIONS) - {SessionStatus.DELETED}, SessionStatus.DELETED),
    (lc.Command.FAILOVER, {SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED, SessionStatus.CONNECTED,
                           SessionStatus.RECONNECTING}, SessionStatus.RECONNECTING),
])
def test_each_command_row(command, accepted, target):
    assert lc.command_accepted_from(command) == accepted
    assert lc.command_target(command) == target


def test_deleted_is_final_and_every_other_status_can_be_deleted():
    assert lc.TRANSITIONS[SessionStatus.DELETED] == frozenset()
    assert all(lc.can_move(status, SessionStatus.DELETED)
               for status in lc.TRANSITIONS if status != SessionStatus.DELETED)


def test_the_readme_diagram_is_the_table():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert lc.mermaid() in readme, ("regenerate the diagram: python -c "
                                    "'from wagw_session_orchestrator import lifecycle; print(lifecycle.mermaid())'")


def test_connect_is_accepted_only_from_resting_states():
    assert lc.command_accepted_from(lc.Command.CONNECT) == {
        SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT, SessionStatus.ERROR}
    assert lc.command_target(lc.Command.CONNECT) == SessionStatus.CONNECTING


@pytest.mark.parametrize("current, target, allowed", [
    (SessionStatus.DISCONNECTED, SessionStatus.CONNECTING, True),
    (SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED, True),
    (SessionStatus.QR_REQUIRED, SessionStatus.CONNECTED, True),
    (SessionStatus.CONNECTING, SessionStatus.CONNECTED, True),        # restored credentials need no QR
    (SessionStatus.CONNECTED, SessionStatus.QR_REQUIRED, False),      # a late QR must not undo a connection
    (SessionStatus.DISCONNECTED, SessionStatus.CONNECTED, False),     # nobody started it
    (SessionStatus.LOGGED_OUT, SessionStatus.CONNECTED, False),
    (SessionStatus.DELETED, SessionStatus.CONNECTING, False),
])
def test_edges(current, target, allowed):
    assert lc.can_move(current, target) is allowed


def test_deleted_is_terminal_and_reachable_from_everywhere_else():
    assert lc.TRANSITIONS[SessionStatus.DELETED] == frozenset()
    assert lc.sources_of(SessionStatus.DELETED) == set(SESSION_STATUSES) - {SessionStatus.DELETED}


def test_every_status_a_worker_may_report_is_reachable():
    for status in WORKER_SESSION_STATUSES:
        assert lc.sources_of(status), status


def test_live_states():
    assert {s for s in SESSION_STATUSES if lc.is_live(s)} == {
        SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED, SessionStatus.CONNECTED, SessionStatus.RECONNECTING}


def test_message_statuses_match_the_contract():
    assert set(lc.MESSAGE_PREDECESSORS) == set(MESSAGE_STATUSES)


@pytest.mark.parametrize("current, target, allowed", [
    ("queued", "sent", True),
    ("sent", "delivered", True),
    ("delivered", "read", True),
    ("queued", "read", True),          # a skipped report does not block the later one
    ("queued", "failed", True),
    ("sent", "failed", True),
    ("sent", "sent", False),           # duplicate
    ("read", "delivered", False),      # out of order
    ("delivered", "failed", False),    # it reached the phone: it did not fail
    ("failed", "sent", False),
    ("read", "failed", False),
])
def test_message_status_only_moves_forward(current, target, allowed):
    assert lc.message_may_move(current, target) is allowed
