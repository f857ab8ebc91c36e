from datetime import datetime, timedelta, timezone

import pytest
from wagw_common.contracts import contract_for

from wagw_worker_registry.recovery import assigned_sessions

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def record(worker_id: str, sessions=(), pending=(), beat_at=T0) -> dict:
    return {"_id": worker_id, "registered_at": T0 - timedelta(hours=1), "beat": {"sent_at": beat_at},
            "sessions": [{"session_id": s, "status": "CONNECTED"} for s in sessions],
            "pending": [{"session_id": s, "at": at} for s, at in pending]}


def test_a_returning_worker_is_assigned_what_it_reported_and_what_was_chosen_for_it():
    doc = record("a", sessions=["s_1", "s_2"], pending=[("s_3", T0 + timedelta(seconds=3))])
    assert assigned_sessions(doc, []) == [{"session_id": "s_1", "as_of": T0}, {"session_id": "s_2", "as_of": T0},
                                          {"session_id": "s_3", "as_of": T0 + timedelta(seconds=3)}]
    contract_for("worker.sessions.assigned").dump({"reason": "registered", "sessions": assigned_sessions(doc, [])})


def test_sessions_another_worker_took_over_later_are_not_assigned_back():
    doc = record("a", sessions=["s_moved", "s_kept", "s_chosen_elsewhere"])
    others = [record("b", sessions=["s_moved"], beat_at=T0 + timedelta(seconds=40)),
              record("c", pending=[("s_chosen_elsewhere", T0 + timedelta(seconds=5))])]
    assert [s["session_id"] for s in assigned_sessions(doc, others)] == ["s_kept"]


def test_an_older_claim_elsewhere_does_not_take_a_session_away():
    doc = record("a", sessions=["s_1"], beat_at=T0 + timedelta(seconds=30))
    stale = record("b", sessions=["s_1"], beat_at=T0)  # b held it before; a reported it since
    assert [s["session_id"] for s in assigned_sessions(doc, [stale])] == ["s_1"]


def test_a_worker_with_no_heartbeat_yet_has_nothing_to_restore():
    doc = {**record("a"), "beat": None}
    assert assigned_sessions(doc, []) == []
