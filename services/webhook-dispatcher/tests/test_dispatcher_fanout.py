from datetime import datetime, timezone

import pytest

from wagw_webhook_dispatcher.fanout import (
    DELIVERABLE_EVENTS, filter_matches, invalid_filters, matching_endpoints, webhook_payload,
)

pytestmark = pytest.mark.unit

TENANT, OTHER = "u_tenant", "u_other"


def endpoint(id_, *, tenant=TENANT, events=("*",), session_id=None, enabled=True):
    return {"_id": id_, "tenant_id": tenant, "events": list(events), "session_id": session_id, "enabled": enabled}


def wanted(endpoints, event_type="message.sent", session_id="s_1", tenant=TENANT):
    return [e["_id"] for e in matching_endpoints(endpoints, tenant_id=tenant, event_type=event_type,
                                                 session_id=session_id)]


@pytest.mark.parametrize("filters, event_type, expected", [
    (["*"], "message.sent", True),
    (["message.sent"], "message.sent", True),
    (["message.delivered"], "message.sent", False),
    (["message.*"], "message.read", True),
    (["message.*"], "session.status_changed", False),
    (["session.qr_updated", "message.sent"], "message.sent", True),
    ([], "message.sent", False),
])
def test_filters_select_event_types(filters, event_type, expected):
    assert filter_matches(filters, event_type) is expected


def test_only_the_events_tenant_gets_it():
    assert wanted([endpoint("wh_mine"), endpoint("wh_theirs", tenant=OTHER)]) == ["wh_mine"]


def test_session_restriction_is_honoured():
    endpoints = [endpoint("wh_any"), endpoint("wh_s1", session_id="s_1"), endpoint("wh_s2", session_id="s_2")]
    assert wanted(endpoints, session_id="s_1") == ["wh_any", "wh_s1"]
    # An event about no session in particular only reaches unrestricted endpoints.
    assert wanted(endpoints, session_id=None) == ["wh_any"]


def test_disabled_endpoints_get_nothing():
    assert wanted([endpoint("wh_off", enabled=False), endpoint("wh_on")]) == ["wh_on"]


def test_event_filter_is_applied():
    endpoints = [endpoint("wh_sent", events=["message.sent"]), endpoint("wh_qr", events=["session.qr_updated"])]
    assert wanted(endpoints, event_type="message.sent") == ["wh_sent"]
    assert wanted(endpoints, event_type="session.qr_updated") == ["wh_qr"]


def test_unknown_filters_are_reported():
    assert invalid_filters(["*", "message.sent", "message.*", "session.*"]) == []
    assert invalid_filters(["message.snet", "worker.online", "worker.*", "nothing"]) == [
        "message.snet", "worker.online", "worker.*", "nothing"]


def test_every_session_and_message_event_is_deliverable():
    assert "message.sent" in DELIVERABLE_EVENTS and "session.status_changed" in DELIVERABLE_EVENTS
    assert all(t.startswith(("session.", "message.")) for t in DELIVERABLE_EVENTS)
    assert "message.send" not in DELIVERABLE_EVENTS  # a command, not an event


def test_payload_has_the_standard_webhooks_shape():
    at = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert webhook_payload("message.sent", at, {"message_id": "m_1"}) == {
        "type": "message.sent", "timestamp": "2026-01-01T12:00:00Z", "data": {"message_id": "m_1"}}
