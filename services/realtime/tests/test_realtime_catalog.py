import pytest

from wagw_common.contracts import Kind, contract_for, of_kind
from wagw_realtime.catalog import ADMINS_ROOM, FIELDS, PUSHES, state_of_session
from wagw_realtime.router import router

pytestmark = pytest.mark.unit


def example_data(event_type: str) -> dict:
    contract = contract_for(event_type)
    return contract.schema().dump(contract.load(contract.example))


@pytest.mark.parametrize("event_type", sorted(PUSHES))
def test_every_push_comes_from_a_handled_event_and_carries_only_its_fields(event_type):
    push = PUSHES[event_type]
    assert contract_for(event_type).kind is Kind.EVENT and event_type in router.handled_types()
    declared = set(contract_for(event_type).schema().fields) | set(push.constants)
    assert set(push.fields) <= declared, f"{event_type} pushes fields its contract lacks"
    payload = push.payload(example_data(event_type))
    assert list(payload) == list(push.fields) and "tenant_id" not in payload


@pytest.mark.parametrize("event_type, socket_event", [
    ("session.qr_updated", "session.qr"), ("session.status_changed", "session.status"),
    ("session.created", "session.created"), ("message.queued", "message.status"), ("message.sent", "message.status"),
    ("message.delivered", "message.status"), ("message.read", "message.status"), ("message.failed", "message.status"),
    ("message.received", "message.received"), ("worker.online", "worker.status"), ("worker.offline", "worker.status"),
    ("worker.draining", "worker.status"), ("worker.removed", "worker.status"), ("session.updated", "session.updated"),
    ("session.deleted", "session.deleted"), ("session.pairing_code", "session.pairing_code"),
    ("session.pacing_changed", "session.pacing_changed"),
])
def test_domain_events_map_to_the_documented_socket_events(event_type, socket_event):
    assert PUSHES[event_type].socket_event == socket_event


def test_tenant_events_go_to_the_tenants_room_and_the_sessions_room_and_worker_events_to_admins():
    data = example_data("session.status_changed")
    rooms = PUSHES["session.status_changed"].rooms(data)
    assert rooms == [f"user:{data['tenant_id']}", f"session:{data['session_id']}"]
    assert PUSHES["worker.offline"].rooms(example_data("worker.offline")) == ADMINS_ROOM


@pytest.mark.parametrize("event_type", [c.type for c in of_kind(Kind.EVENT) if "sequence" in c.schema().fields])
def test_every_event_that_numbers_a_session_is_pushed_with_its_number(event_type):
    # A client detects a gap by a missing number: each numbered event must reach it.
    assert event_type in PUSHES and "sequence" in PUSHES[event_type].fields


def test_a_sessions_creation_is_its_first_numbered_event():
    assert PUSHES["session.created"].payload(example_data("session.created"))["sequence"] == 1


def test_every_field_pushed_is_explained_for_the_frontend():
    assert {name for push in PUSHES.values() for name in push.fields} <= set(FIELDS)


def test_status_payload_is_what_the_frontend_reads():
    assert PUSHES["session.status_changed"].payload(example_data("session.status_changed")) == {
        "session_id": "s_8f14e45fceea167a", "status": "CONNECTED", "previous": "QR_REQUIRED", "reason": None,
        "sequence": 3}
    assert PUSHES["message.sent"].payload(example_data("message.sent")) == {
        "session_id": "s_8f14e45fceea167a", "message_id": "m_45c48cce2e2d7fbd", "status": "sent", "reason": None,
        "at": "2026-01-01T12:00:00+00:00"}


def test_state_on_subscribe_is_the_status_then_any_pending_qr():
    view = contract_for("session.get").reply_example
    assert state_of_session(view) == [("session.status", {
        "session_id": view["session_id"], "status": "DISCONNECTED", "previous": None, "reason": None,
        "sequence": None})]
    pending = {**view, "status": "QR_REQUIRED", "qr": "2@abc", "qr_expires_at": "2026-01-01T12:01:00Z"}
    assert [event for event, _ in state_of_session(pending)] == ["session.status", "session.qr"]
    assert state_of_session(pending)[1][1] == {"session_id": view["session_id"], "qr": "2@abc",
                                               "expires_at": "2026-01-01T12:01:00Z", "sequence": None}


def test_a_pending_pairing_code_is_part_of_the_state():
    view = {**contract_for("session.get").reply_example, "status": "CONNECTING", "pairing_code": "ABCD-EFGH",
            "sequence": 5}
    assert state_of_session(view)[-1] == ("session.pairing_code", {
        "session_id": view["session_id"], "code": "ABCD-EFGH", "expires_at": None, "sequence": 5})
