import re

import pytest

from wagw_common.contracts import Kind, contract_for, of_kind
from wagw_common.envelope import Envelope
from wagw_common.topology import REALTIME_EVENTS
from wagw_realtime.handlers import (
    CONSUMED_EVENTS, event_handlers, when_domain_event_occurred_push_to_clients, when_logins_ended_close_the_user_room,
)

pytestmark = pytest.mark.unit


def loaded(event_type: str, **changes) -> Envelope:
    contract = contract_for(event_type)
    return Envelope(type=event_type, source="test", data=contract.load({**contract.example, **changes}))


async def _pushed(envelope):
    emitted = []

    async def emit(event, data, to):
        emitted.append((event, data, to))

    await when_domain_event_occurred_push_to_clients(envelope, emit=emit)
    return emitted


async def test_a_status_change_is_pushed_to_its_tenant_as_json():
    [(event, data, rooms)] = await _pushed(loaded("session.qr_updated", tenant_id="u_42", session_id="s_9"))
    # One emit to both rooms: python-socketio sends it once to a client that is in both.
    assert (event, rooms) == ("session.qr", ["user:u_42", "session:s_9"])
    assert data["expires_at"] == "2026-01-01T12:01:00+00:00"  # a string, ready for JSON


async def test_consumed_events_without_a_push_are_acknowledged_silently():
    # A contract the queue's bindings bring in but the catalog does not list: nothing emitted, no error.
    envelope = Envelope(type="session.something_new", source="test", data={})
    assert await _pushed(envelope) == []


def _topic_matches(pattern: str, key: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", r"[^.]+").replace(r"\#", r".*"), key) is not None


def test_every_event_the_queue_receives_has_a_handler():
    # The consumer dead-letters a type it has no handler for: the bindings and the handlers must agree.
    received = {c.type for c in of_kind(Kind.EVENT)  # what services publish to wagw.events
                for exchange, pattern in REALTIME_EVENTS.bindings if _topic_matches(pattern, c.type)}
    assert {"session.status_changed", "message.received", "worker.online", "user.logins_ended"} <= received
    assert received == set(event_handlers(emit=None, close_room=None)) and set(CONSUMED_EVENTS) <= received


async def test_ended_logins_close_the_users_room_and_push_nothing():
    closed = []

    async def close_room(room):
        closed.append(room)

    await when_logins_ended_close_the_user_room(loaded("user.logins_ended", user_id="u_42"), close_room=close_room)
    assert closed == ["user:u_42"]
