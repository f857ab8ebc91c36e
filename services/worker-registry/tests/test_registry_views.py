from datetime import datetime, timedelta, timezone

import pytest
from wagw_common.contracts import contract_for
from wagw_common.contracts.fleet import Breakdown
from wagw_common.contracts.workers import BREAKDOWN_BUCKETS

from wagw_worker_registry.views import candidate, fleet_stats, worker_detail, worker_list, worker_view

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
BREAKDOWN = {"connected": 1, "connecting": 0, "qr_required": 0, "disconnected": 0, "error": 0}
DOC = {
    "_id": "worker-1", "version": "1.4.0", "environment": "production", "endpoint": None, "max_sessions": 50,
    "cpu_cores": 2.0, "memory_limit_mb": None, "heartbeat_interval": 10.0, "state": "online",
    "drain_requested": False, "sessions": [{"session_id": "s_1", "status": "CONNECTED"}],
    "beat": {"sent_at": NOW, "session_count": 1, "breakdown": BREAKDOWN, "digest": "x", "cpu_percent": 3.0,
             "memory_mb": 100.0},
    "registered_at": NOW, "last_heartbeat_at": NOW,
    "expires_at": NOW + timedelta(seconds=30), "pending": [], "assigned": 0, "free": 49, "rev": 4,
    "recent_offline_at": [],
}


def valid(contract_type: str, reply: dict) -> dict:
    schema = contract_for(contract_type).reply()
    assert schema.validate(schema.dump(reply)) == {}
    return schema.dump(reply)


def test_the_breakdown_contract_has_exactly_the_protocols_buckets():
    assert set(Breakdown().fields) == set(BREAKDOWN_BUCKETS)


def test_a_worker_view_holds_the_contract_fields_with_its_score():
    view = worker_view(DOC, NOW)
    assert view["worker_id"] == "worker-1" and view["breakdown"] == BREAKDOWN and view["free"] == 49
    assert 0.9 < view["score"] <= 1.0
    dumped = valid("worker.list", worker_list([DOC], NOW))
    assert dumped["workers"][0]["last_heartbeat_at"].startswith("2026-01-01T12:00:00")
    assert worker_view({**DOC, "state": "draining"}, NOW)["score"] is None


def test_a_worker_detail_adds_its_sessions_and_pending_choices():
    detail = worker_detail({**DOC, "pending": [{"session_id": "s_2", "at": NOW}]}, NOW)
    assert detail["sessions"] == DOC["sessions"] and detail["pending"] == [{"session_id": "s_2", "at": NOW}]
    valid("worker.get", detail)


def test_an_empty_fleet_is_an_empty_list():
    assert worker_list([], NOW) == {"workers": []}


def test_fleet_stats_count_states_and_sum_live_capacity():
    docs = [DOC, {**DOC, "_id": "w2", "state": "draining", "free": 40, "assigned": 0, "version": "1.5.0",
                  "beat": {**DOC["beat"], "session_count": 10, "breakdown": {**BREAKDOWN, "connected": 9, "error": 1}}},
            {**DOC, "_id": "w3", "state": "offline", "beat": {**DOC["beat"], "session_count": 7, "cpu_percent": None}}]
    stats = fleet_stats(docs)
    assert stats["workers"] == {"total": 3, "online": 1, "draining": 1, "offline": 1}
    assert stats["capacity"] == {"max_sessions": 50, "sessions": 11, "assigned": 0, "free": 49, "utilisation": 0.11}
    assert stats["sessions"] == {"connected": 10, "connecting": 0, "qr_required": 0, "disconnected": 0, "error": 1}
    assert (stats["cpu_percent_avg"], stats["versions"]) == (3.0, {"1.4.0": 2, "1.5.0": 1})
    valid("worker.stats", stats)
    assert fleet_stats([])["capacity"]["utilisation"] == 0.0


def test_a_candidate_carries_what_the_score_needs():
    cand = candidate({**DOC, "beat": {**DOC["beat"], "breakdown": {**BREAKDOWN, "connecting": 2, "error": 1}}})
    seen = (cand.free, cand.session_count, cand.max_sessions, cand.cpu_cores, cand.troubled_sessions)
    assert seen == (49, 1, 50, 2.0, 3)
