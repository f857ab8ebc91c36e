from datetime import datetime, timezone

import pytest
from wagw_common.contracts import contract_for

from wagw_worker_registry.views import candidate, worker_list, worker_view

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
DOC = {
    "_id": "worker-1", "version": "1.4.0", "environment": "production", "endpoint": None, "max_sessions": 50,
    "state": "online", "sessions": [{"session_id": "s_1", "status": "CONNECTED"}], "session_count": 1,
    "breakdown": {"CONNECTED": 1}, "cpu_percent": 3.0, "memory_mb": 100.0, "registered_at": NOW,
    "last_heartbeat_at": NOW, "pending": [], "assigned": 0, "free": 49, "rev": 4,
}


def test_a_worker_view_holds_exactly_the_contract_fields():
    reply_schema = contract_for("worker.list").reply
    reply = worker_list([DOC])
    assert reply_schema().validate(reply_schema().dump(reply)) == {}
    assert worker_view(DOC) == {"worker_id": "worker-1", "version": "1.4.0", "state": "online", "max_sessions": 50,
                                "session_count": 1, "last_heartbeat_at": NOW}
    assert reply_schema().dump(reply)["workers"][0]["last_heartbeat_at"].startswith("2026-01-01T12:00:00")


def test_an_empty_fleet_is_an_empty_list():
    assert worker_list([]) == {"workers": []}


def test_a_candidate_carries_what_selection_ranks_on():
    assert candidate(DOC) == candidate({**DOC, "sessions": []})
    assert (candidate(DOC).free, candidate(DOC).session_count, candidate(DOC).max_sessions) == (49, 1, 50)
