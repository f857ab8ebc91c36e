from datetime import datetime, timedelta, timezone

import pytest
from wagw_common.contracts import contract_for
from wagw_common.errors import Conflict

from wagw_worker_registry import fleet

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
REGISTER = {"worker_id": "worker-1", "version": "1.4.0", "environment": "production", "endpoint": None,
            "capacity": {"max_sessions": 3, "cpu_cores": None, "memory_limit_mb": None},
            "heartbeat_interval_seconds": 10.0}


def beat(*sessions: tuple[str, str]) -> dict:
    return {"worker_id": "worker-1", "sessions": [{"session_id": s, "status": st} for s, st in sessions],
            "cpu_percent": 5.0, "memory_mb": 120.0}


def stored(change: fleet.Change, doc: dict | None = None) -> dict:
    """The document after a change, as the store would write it."""
    return dict(change.fields) if change.create else {**doc, **change.fields, "rev": doc["rev"] + 1}


def registered_worker(**overrides) -> dict:
    return {**stored(fleet.registered(None, msg=REGISTER, now=T0, sent_at=T0, missed=3)), **overrides}


def assert_valid_events(change: fleet.Change) -> None:
    for event_type, data in change.events:
        assert contract_for(event_type).dump(data) == data


def test_a_new_worker_is_created_online_and_announced():
    change = fleet.registered(None, msg=REGISTER, now=T0, sent_at=T0, missed=3)
    assert change.create
    doc = change.fields
    assert (doc["_id"], doc["state"], doc["max_sessions"], doc["drain_requested"]) == ("worker-1", "online", 3, False)
    assert (doc["free"], doc["assigned"]) == (3, 0)
    assert doc["registered_at"] == doc["last_heartbeat_at"] == T0
    assert doc["expires_at"] == T0 + timedelta(seconds=30)  # three missed heartbeats of ten seconds
    assert doc["beat"]["breakdown"] == {"connected": 0, "connecting": 0, "qr_required": 0, "disconnected": 0,
                                        "error": 0}
    assert (doc["beat"]["sent_at"], doc["beat"]["session_count"], doc["sessions"]) == (None, 0, [])
    assert change.events == [("worker.online", {"worker_id": "worker-1", "state": "online", "reason": "registered",
                                                "session_ids": []})]
    assert_valid_events(change)


def test_registering_again_while_online_refreshes_without_an_event():
    doc = registered_worker()
    later = T0 + timedelta(seconds=5)
    msg = {**REGISTER, "capacity": {**REGISTER["capacity"], "max_sessions": 10}, "version": "1.5.0",
           "heartbeat_interval_seconds": 2.0}
    change = fleet.registered(doc, msg=msg, now=later, sent_at=later, missed=3)
    assert change.events == []
    assert change.fields["max_sessions"] == 10 and change.fields["free"] == 10 and change.fields["version"] == "1.5.0"
    assert change.fields["expires_at"] == later + timedelta(seconds=6)
    assert "registered_at" not in change.fields


def test_an_offline_worker_that_registers_comes_back_online_with_an_event():
    doc = registered_worker(state="offline", sessions=[{"session_id": "s_1", "status": "CONNECTED"}])
    later = T0 + timedelta(minutes=1)
    change = fleet.registered(doc, msg=REGISTER, now=later, sent_at=later, missed=3)
    assert change.fields["state"] == "online"
    assert change.events == [("worker.online", {"worker_id": "worker-1", "state": "online", "reason": "registered",
                                                "session_ids": ["s_1"]})]


def test_a_drained_worker_comes_back_draining():
    doc = registered_worker(state="offline", drain_requested=True)
    later = T0 + timedelta(minutes=1)
    change = fleet.registered(doc, msg=REGISTER, now=later, sent_at=later, missed=3)
    assert change.fields["state"] == "draining" and [t for t, _ in change.events] == ["worker.draining"]
    change = fleet.heartbeat(doc, msg=beat(), now=later, sent_at=later, grace=60, missed=3)
    assert change.fields["state"] == "draining" and [t for t, _ in change.events] == ["worker.draining"]


def test_a_draining_worker_that_registers_stays_draining():
    later = T0 + timedelta(seconds=1)
    change = fleet.registered(registered_worker(state="draining"), msg=REGISTER, now=later, sent_at=later, missed=3)
    assert "state" not in change.fields and change.events == []


def test_a_removed_worker_that_registers_starts_a_new_life():
    doc = registered_worker(state="removed", rev=7, sessions=[{"session_id": "s_1", "status": "CONNECTED"}],
                            drain_requested=True)
    later = T0 + timedelta(minutes=5)
    change = fleet.registered(doc, msg=REGISTER, now=later, sent_at=later, missed=3)
    assert not change.create and "_id" not in change.fields and "rev" not in change.fields
    fields = change.fields
    assert (fields["state"], fields["sessions"], fields["drain_requested"]) == ("online", [], False)
    assert change.fields["registered_at"] == later and [t for t, _ in change.events] == ["worker.online"]


def test_a_heartbeat_records_sessions_breakdown_resources_and_the_next_deadline():
    doc = registered_worker()
    later = T0 + timedelta(seconds=10)
    sessions = beat(("s_1", "CONNECTED"), ("s_2", "QR_REQUIRED"), ("s_3", "RECONNECTING"), ("s_4", "LOGGED_OUT"))
    change = fleet.heartbeat(doc, msg=sessions, now=later, sent_at=later, grace=60, missed=2)
    f = change.fields
    assert list(f["beat"]) == ["sent_at", "session_count", "breakdown", "digest", "cpu_percent", "memory_mb"]
    assert (f["beat"]["sent_at"], f["beat"]["session_count"]) == (later, 4)
    assert f["beat"]["breakdown"] == {"connected": 1, "connecting": 1, "qr_required": 1, "disconnected": 1, "error": 0}
    assert (f["beat"]["cpu_percent"], f["beat"]["memory_mb"], f["last_heartbeat_at"]) == (5.0, 120.0, later)
    assert f["expires_at"] == later + timedelta(seconds=20)
    assert f["free"] == 0 and change.events == []


def test_a_heartbeat_confirms_assigned_sessions_and_forgets_expired_ones():
    pending = [{"session_id": "s_new", "at": T0 + timedelta(seconds=50)},  # reported below: confirmed
               {"session_id": "s_waiting", "at": T0 + timedelta(seconds=50)},  # not started yet: still counts
               {"session_id": "s_lost", "at": T0}]  # older than the grace: forgotten
    doc = registered_worker(pending=pending, assigned=3, free=0)
    now = T0 + timedelta(seconds=61)
    change = fleet.heartbeat(doc, msg=beat(("s_new", "CONNECTING")), now=now, sent_at=now, grace=60, missed=3)
    assert [p["session_id"] for p in change.fields["pending"]] == ["s_waiting"]
    assert (change.fields["assigned"], change.fields["free"]) == (1, 1)  # 3 - 1 session - 1 assigned


def test_a_heartbeat_from_an_offline_worker_brings_it_back_online():
    doc = registered_worker(state="offline")
    later = T0 + timedelta(minutes=2)
    change = fleet.heartbeat(doc, msg=beat(("s_1", "CONNECTED")), now=later, sent_at=later, grace=60, missed=3)
    assert change.fields["state"] == "online"
    assert change.events == [("worker.online", {"worker_id": "worker-1", "state": "online",
                                                "reason": "heartbeat resumed", "session_ids": ["s_1"]})]
    assert_valid_events(change)


def test_a_message_older_than_the_last_one_applied_is_ignored():
    doc = registered_worker(last_sent_at=T0 + timedelta(seconds=10))
    earlier = T0 + timedelta(seconds=5)
    assert fleet.heartbeat(doc, msg=beat(), now=T0 + timedelta(seconds=11), sent_at=earlier, grace=60, missed=3) is None
    assert fleet.unregistered(doc, now=T0, sent_at=earlier) is None
    assert fleet.registered(doc, msg=REGISTER, now=T0, sent_at=earlier, missed=3) is None


def test_unregistering_goes_offline_and_names_every_session_to_move():
    doc = registered_worker(sessions=[{"session_id": "s_1", "status": "CONNECTED"}],
                            pending=[{"session_id": "s_2", "at": T0}, {"session_id": "s_1", "at": T0}])
    later = T0 + timedelta(seconds=1)
    change = fleet.unregistered(doc, now=later, sent_at=later)
    assert (change.fields["state"], change.fields["free"], change.fields["pending"]) == ("offline", 0, [])
    assert change.fields["recent_offline_at"] == [later]
    assert change.events == [("worker.offline", {"worker_id": "worker-1", "state": "offline", "reason": "unregistered",
                                                 "session_ids": ["s_1", "s_2"]})]
    assert_valid_events(change)


def test_unregistering_an_offline_worker_emits_nothing():
    change = fleet.unregistered(registered_worker(state="offline"), now=T0, sent_at=T0 + timedelta(seconds=1))
    assert change.events == [] and "state" not in change.fields


@pytest.mark.parametrize("seconds_past_deadline, state, silent", [
    (1, "online", True), (-1, "online", False), (0, "online", False), (1, "draining", True), (500, "offline", False),
])
def test_a_worker_is_silent_once_past_its_heartbeat_deadline(seconds_past_deadline, state, silent):
    now = T0 + timedelta(minutes=10)
    doc = registered_worker(state=state, expires_at=now - timedelta(seconds=seconds_past_deadline))
    assert fleet.is_silent(doc, now) is silent


def test_a_silent_worker_times_out_with_its_sessions_and_a_live_one_does_not():
    now = T0 + timedelta(minutes=10)
    silent = registered_worker(expires_at=now - timedelta(seconds=1), recent_offline_at=[T0] * 10,
                               sessions=[{"session_id": "s_1", "status": "CONNECTED"}])
    change = fleet.timed_out(silent, now=now)
    assert change.fields["state"] == "offline"
    assert change.fields["recent_offline_at"] == [T0] * 9 + [now]  # the last ten are kept
    assert change.events[0][1] == {"worker_id": "worker-1", "state": "offline", "reason": "heartbeat timeout",
                                   "session_ids": ["s_1"]}
    assert fleet.timed_out(registered_worker(expires_at=now + timedelta(seconds=1)), now=now) is None
    assert fleet.timed_out(registered_worker(state="offline", expires_at=T0), now=now) is None


def test_draining_stops_assignments_and_names_the_sessions_to_move():
    doc = registered_worker(sessions=[{"session_id": "s_1", "status": "CONNECTED"}],
                            pending=[{"session_id": "s_2", "at": T0}])
    change = fleet.drained(doc, reason="kernel upgrade")
    fields = change.fields
    assert (fields["state"], fields["drain_requested"], fields["pending"]) == ("draining", True, [])
    assert change.events == [("worker.draining", {"worker_id": "worker-1", "state": "draining",
                                                  "reason": "kernel upgrade", "session_ids": ["s_1", "s_2"]})]
    assert_valid_events(change)
    again = fleet.drained(stored(change, doc), reason="again")
    assert again.events == [] and again.fields == {"drain_requested": True}
    offline = fleet.drained(registered_worker(state="offline"), reason="x")
    assert offline.events == [] and offline.fields == {"drain_requested": True}


def test_undraining_brings_a_draining_worker_back_online():
    doc = registered_worker(state="draining", drain_requested=True,
                            sessions=[{"session_id": "s_1", "status": "CONNECTED"}])
    change = fleet.undrained(doc)
    assert change.fields == {"state": "online", "drain_requested": False}
    assert [t for t, _ in change.events] == ["worker.online"] and change.events[0][1]["reason"] == "drain cancelled"
    assert fleet.undrained(registered_worker(state="offline", drain_requested=True)).events == []


def test_removing_an_online_worker_needs_force_and_names_its_sessions():
    doc = registered_worker(sessions=[{"session_id": "s_1", "status": "CONNECTED"}])
    with pytest.raises(Conflict):
        fleet.removed(doc, force=False, reason="x")
    change = fleet.removed(doc, force=True, reason="removed by an administrator")
    assert change.fields["state"] == "removed"
    assert change.events == [("worker.removed", {"worker_id": "worker-1", "state": "removed",
                                                 "reason": "removed by an administrator", "session_ids": ["s_1"]})]
    assert_valid_events(change)
    assert fleet.removed(registered_worker(state="offline"), force=False, reason="x").fields["state"] == "removed"


def beaten_worker(*sessions: tuple[str, str], **overrides) -> dict:
    """A worker that registered and beat once, as stored (its sessions live in another collection)."""
    doc = registered_worker()
    change = fleet.heartbeat(doc, msg=beat(*sessions), now=T0, sent_at=T0, grace=60, missed=3)
    stored_doc = stored(change, doc)
    stored_doc.pop("sessions")
    return {**stored_doc, **overrides}


def test_a_steady_heartbeat_is_the_newest_beat_and_liveness_and_names_changed_sessions_only():
    doc = beaten_worker(("s_1", "CONNECTED"))
    later = T0 + timedelta(seconds=10)
    same = fleet.steady_heartbeat(doc, msg=beat(("s_1", "CONNECTED")), now=later, sent_at=later, missed=3)
    assert same.sessions is None and same.beat["sent_at"] == later and list(same.beat)[0] == "sent_at"
    assert (same.last_heartbeat_at, same.expires_at) == (later, later + timedelta(seconds=30))
    assert same.free_delta == 0
    changed = fleet.steady_heartbeat(doc, msg=beat(("s_1", "RECONNECTING")), now=later, sent_at=later, missed=3)
    assert changed.sessions == [{"session_id": "s_1", "status": "RECONNECTING"}]
    assert changed.beat["breakdown"]["connecting"] == 1 and changed.beat["session_count"] == 1
    more = fleet.steady_heartbeat(doc, msg=beat(("s_1", "CONNECTED"), ("s_2", "CONNECTED")), now=later,
                                  sent_at=later, missed=3)
    assert (more.free_delta, more.beat["session_count"], len(more.sessions)) == (-1, 2, 2)
    fewer = fleet.steady_heartbeat(doc, msg=beat(), now=later, sent_at=later, missed=3)
    assert (fewer.free_delta, fewer.sessions) == (1, [])


@pytest.mark.parametrize("overrides, sessions", [
    ({"state": "offline"}, ()),  # comes back: an event
    ({"pending": [{"session_id": "s_9", "at": T0}], "assigned": 1, "free": 1}, ()),  # a choice to confirm
    ({"last_sent_at": T0 + timedelta(hours=1)}, ()),  # older than what was applied
    ({"free": 0}, (("s_1", "CONNECTED"),)),  # its bookkeeping is off (two heartbeats raced): recomputed
    ({}, (("a", "CONNECTED"), ("b", "CONNECTED"), ("c", "CONNECTED"), ("d", "CONNECTED"))),  # more than it may hold
], ids=["offline", "pending", "stale", "free-off", "over-capacity"])
def test_anything_to_reconcile_takes_the_guarded_path(overrides, sessions):
    doc = beaten_worker(("s_1", "CONNECTED"), **overrides)
    later = T0 + timedelta(seconds=10)
    assert fleet.steady_heartbeat(doc, msg=beat(*sessions), now=later, sent_at=later, missed=3) is None
    assert fleet.steady_heartbeat(beaten_worker(("s_1", "CONNECTED")), msg=beat(("s_1", "CONNECTED")), now=later,
                                  sent_at=later, missed=3) is not None


def test_a_registry_behind_in_reading_heartbeats_waits_that_much_longer():
    now = T0 + timedelta(minutes=10)
    doc = registered_worker(expires_at=now - timedelta(seconds=5))
    assert fleet.is_silent(doc, now) and not fleet.is_silent(doc, now, behind=8.0)
    assert fleet.timed_out(doc, now=now, behind=8.0) is None
    assert fleet.timed_out(doc, now=now, behind=2.0).fields["state"] == "offline"


def test_a_registry_that_could_not_hear_gives_every_worker_a_whole_window_from_when_it_hears_again():
    # Last heartbeat at 10:00, window 30 s (3 x 10 s): due by 10:30. The registry's broker connection
    # came back at 10:50 (a broker restart): heartbeats sent meanwhile never reached it.
    last = T0 + timedelta(minutes=10)
    doc = registered_worker(last_heartbeat_at=last, expires_at=last + timedelta(seconds=30))
    heard_since = last + timedelta(seconds=50)
    for now, silent in ((heard_since + timedelta(seconds=29), False), (heard_since + timedelta(seconds=31), True)):
        assert fleet.is_silent(doc, now, heard_since=heard_since) is silent
        assert (fleet.timed_out(doc, now=now, heard_since=heard_since) is not None) is silent
    # Hearing all along: due at its deadline as before.
    assert fleet.is_silent(doc, last + timedelta(seconds=31), heard_since=T0)
