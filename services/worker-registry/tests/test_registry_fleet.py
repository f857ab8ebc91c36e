from datetime import datetime, timedelta, timezone

import pytest
from wagw_common.contracts import contract_for

from wagw_worker_registry import fleet

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
REGISTER = {"worker_id": "worker-1", "version": "1.4.0", "capacity": {"max_sessions": 3},
            "environment": "production", "endpoint": None}


def beat(*sessions: tuple[str, str]) -> dict:
    return {"worker_id": "worker-1", "sessions": [{"session_id": s, "status": st} for s, st in sessions],
            "cpu_percent": 5.0, "memory_mb": 120.0}


def stored(change: fleet.Change, doc: dict | None = None) -> dict:
    """The document after a change, as the store would write it."""
    return dict(change.fields) if change.create else {**doc, **change.fields, "rev": doc["rev"] + 1}


def registered_worker(**overrides) -> dict:
    return {**stored(fleet.registered(None, msg=REGISTER, now=T0, sent_at=T0)), **overrides}


def assert_valid_events(change: fleet.Change) -> None:
    for event_type, data in change.events:
        assert contract_for(event_type).dump(data) == data


def test_a_new_worker_is_created_online_and_announced():
    change = fleet.registered(None, msg=REGISTER, now=T0, sent_at=T0)
    assert change.create
    doc = change.fields
    assert (doc["_id"], doc["state"], doc["max_sessions"]) == ("worker-1", "online", 3)
    assert (doc["free"], doc["assigned"]) == (3, 0)
    assert doc["registered_at"] == doc["last_heartbeat_at"] == T0
    assert change.events == [("worker.online", {"worker_id": "worker-1", "state": "online", "reason": "registered",
                                                "session_ids": []})]
    assert_valid_events(change)


def test_registering_again_while_online_refreshes_without_an_event():
    doc = registered_worker()
    later = T0 + timedelta(seconds=5)
    change = fleet.registered(doc, msg={**REGISTER, "capacity": {"max_sessions": 10}, "version": "1.5.0"}, now=later,
                              sent_at=later)
    assert change.events == []
    assert change.fields["max_sessions"] == 10 and change.fields["free"] == 10 and change.fields["version"] == "1.5.0"
    assert "registered_at" not in change.fields


def test_an_offline_worker_that_registers_comes_back_online_with_an_event():
    doc = registered_worker(state="offline")
    later = T0 + timedelta(minutes=1)
    change = fleet.registered(doc, msg=REGISTER, now=later, sent_at=later)
    assert change.fields["state"] == "online"
    assert [t for t, _ in change.events] == ["worker.online"]


def test_a_draining_worker_that_registers_stays_draining():
    later = T0 + timedelta(seconds=1)
    change = fleet.registered(registered_worker(state="draining"), msg=REGISTER, now=later, sent_at=later)
    assert "state" not in change.fields and change.events == []


def test_a_heartbeat_records_sessions_breakdown_and_resources():
    doc = registered_worker()
    later = T0 + timedelta(seconds=10)
    change = fleet.heartbeat(doc, msg=beat(("s_1", "CONNECTED"), ("s_2", "QR_REQUIRED"), ("s_3", "CONNECTED")),
                             now=later, sent_at=later, grace=60)
    f = change.fields
    assert f["session_count"] == 3 and f["breakdown"] == {"CONNECTED": 2, "QR_REQUIRED": 1}
    assert (f["cpu_percent"], f["memory_mb"], f["last_heartbeat_at"]) == (5.0, 120.0, later)
    assert f["free"] == 0 and change.events == []


def test_a_heartbeat_confirms_assigned_sessions_and_forgets_expired_ones():
    pending = [{"session_id": "s_new", "at": T0 + timedelta(seconds=50)},  # reported below: confirmed
               {"session_id": "s_waiting", "at": T0 + timedelta(seconds=50)},  # not started yet: still counts
               {"session_id": "s_lost", "at": T0}]  # older than the grace: forgotten
    doc = registered_worker(pending=pending, assigned=3, free=0)
    now = T0 + timedelta(seconds=61)
    change = fleet.heartbeat(doc, msg=beat(("s_new", "CONNECTING")), now=now, sent_at=now, grace=60)
    assert [p["session_id"] for p in change.fields["pending"]] == ["s_waiting"]
    assert (change.fields["assigned"], change.fields["free"]) == (1, 1)  # 3 - 1 session - 1 assigned


def test_a_heartbeat_from_an_offline_worker_brings_it_back_online():
    doc = registered_worker(state="offline")
    later = T0 + timedelta(minutes=2)
    change = fleet.heartbeat(doc, msg=beat(("s_1", "CONNECTED")), now=later, sent_at=later, grace=60)
    assert change.fields["state"] == "online"
    assert change.events == [("worker.online", {"worker_id": "worker-1", "state": "online",
                                                "reason": "heartbeat resumed", "session_ids": ["s_1"]})]
    assert_valid_events(change)


def test_a_message_older_than_the_last_one_applied_is_ignored():
    doc = registered_worker(last_sent_at=T0 + timedelta(seconds=10))
    earlier = T0 + timedelta(seconds=5)
    assert fleet.heartbeat(doc, msg=beat(), now=T0 + timedelta(seconds=11), sent_at=earlier, grace=60) is None
    assert fleet.unregistered(doc, sent_at=earlier) is None
    assert fleet.registered(doc, msg=REGISTER, now=T0, sent_at=earlier) is None


def test_unregistering_goes_offline_and_names_every_session_to_move():
    doc = registered_worker(sessions=[{"session_id": "s_1", "status": "CONNECTED"}],
                            pending=[{"session_id": "s_2", "at": T0}, {"session_id": "s_1", "at": T0}])
    later = T0 + timedelta(seconds=1)
    change = fleet.unregistered(doc, sent_at=later)
    assert (change.fields["state"], change.fields["free"], change.fields["pending"]) == ("offline", 0, [])
    assert change.events == [("worker.offline", {"worker_id": "worker-1", "state": "offline", "reason": "unregistered",
                                                 "session_ids": ["s_1", "s_2"]})]
    assert_valid_events(change)


def test_unregistering_an_offline_worker_emits_nothing():
    change = fleet.unregistered(registered_worker(state="offline"), sent_at=T0 + timedelta(seconds=1))
    assert change.events == [] and "state" not in change.fields


def test_the_silence_cutoff_is_the_offline_timeout_before_now():
    now = T0 + timedelta(seconds=100)
    assert fleet.silent_cutoff(now, 30) == T0 + timedelta(seconds=70)
    assert fleet.silent_cutoff(now, 2.5) == now - timedelta(seconds=2.5)


@pytest.mark.parametrize("last_beat_seconds_ago, state, silent", [
    (31, "online", True), (29, "online", False), (30, "online", False), (31, "draining", True), (500, "offline", False),
])
def test_a_worker_is_silent_once_its_last_heartbeat_is_older_than_the_timeout(last_beat_seconds_ago, state, silent):
    now = T0 + timedelta(minutes=10)
    doc = registered_worker(state=state, last_heartbeat_at=now - timedelta(seconds=last_beat_seconds_ago))
    assert fleet.is_silent(doc, fleet.silent_cutoff(now, 30)) is silent


def test_a_silent_worker_times_out_with_its_sessions_and_a_live_one_does_not():
    now = T0 + timedelta(minutes=10)
    cutoff = fleet.silent_cutoff(now, 30)
    silent = registered_worker(last_heartbeat_at=now - timedelta(seconds=45),
                               sessions=[{"session_id": "s_1", "status": "CONNECTED"}])
    change = fleet.timed_out(silent, cutoff=cutoff)
    assert change.fields["state"] == "offline"
    assert change.events[0][1] == {"worker_id": "worker-1", "state": "offline", "reason": "heartbeat timeout",
                                   "session_ids": ["s_1"]}
    assert fleet.timed_out(registered_worker(last_heartbeat_at=now), cutoff=cutoff) is None
    assert fleet.timed_out(registered_worker(state="offline", last_heartbeat_at=T0), cutoff=cutoff) is None
