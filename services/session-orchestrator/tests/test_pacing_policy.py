"""The pacing policy: its contract (nonsense refused with a clear reason), the slots it gives, the
warm-up's daily limit, and the policy as it shows in the session view."""

from datetime import datetime, timedelta, timezone
from itertools import pairwise

import pytest
from marshmallow import ValidationError

from wagw_common.contracts.pacing import PacingPolicy
from wagw_common.contracts.sessions import SessionView, UpdateSession
from wagw_session_orchestrator import pacing

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
POLICY = {"min_gap_seconds": 10.0, "jitter_seconds": 4.0, "since": "2026-01-01",
          "warmup": {"first_day_limit": 2, "daily_increase": 3, "days": 3}}


def no_jitter(low, high):
    return low


def full_jitter(low, high):
    return high


@pytest.mark.parametrize("body, field", [
    ({"min_gap_seconds": -1}, "min_gap_seconds"),
    ({"min_gap_seconds": "soon"}, "min_gap_seconds"),
    ({"min_gap_seconds": float("nan")}, "min_gap_seconds"),
    ({"min_gap_seconds": 86_401}, "min_gap_seconds"),
    ({"min_gap_seconds": 5, "jitter_seconds": -2}, "jitter_seconds"),
    ({"min_gap_seconds": 0, "jitter_seconds": 0}, "min_gap_seconds"),  # paces nothing
    ({"jitter_seconds": 3}, "min_gap_seconds"),
    ({"min_gap_seconds": 5, "warmup": {"first_day_limit": 0, "daily_increase": 1, "days": 2}}, "warmup"),
    ({"min_gap_seconds": 5, "warmup": {"first_day_limit": 10, "days": 2}}, "warmup"),
    ({"min_gap_seconds": 5, "warmup": {"first_day_limit": 10, "daily_increase": 1, "days": 0}}, "warmup"),
    ({"min_gap_seconds": 5, "burst": 3}, "burst"),
])
def test_a_nonsense_policy_is_refused_naming_the_field(body, field):
    with pytest.raises(ValidationError) as refused:
        PacingPolicy().load(body)
    assert field in refused.value.messages


def test_a_policy_with_only_a_warmup_or_only_a_gap_is_accepted_and_null_removes_pacing():
    assert PacingPolicy().load({"min_gap_seconds": 0, "warmup": {"first_day_limit": 5, "daily_increase": 0,
                                                                 "days": 1}})["warmup"]["days"] == 1
    assert PacingPolicy().load({"min_gap_seconds": 2.5}) == {"min_gap_seconds": 2.5, "jitter_seconds": 0.0,
                                                             "warmup": None}
    patch = UpdateSession(exclude=("tenant_id", "session_id"))
    assert patch.load({"pacing": None}) == {"pacing": None}


def test_consecutive_sends_get_slots_a_gap_plus_jitter_apart_and_the_first_goes_now():
    state: dict = {}
    slots = []
    for number in range(4):
        outcome = pacing.reserve({**POLICY, "warmup": None}, state, T0, f"m{number}", full_jitter)
        slots.append(outcome.slot)
        state = {**state, **outcome.state}
    assert slots[0] == T0
    assert [b - a for a, b in pairwise(slots)] == [timedelta(seconds=14)] * 3


def test_a_late_hand_off_pushes_the_next_slot_a_full_gap_after_it():
    state = {"next_free_at": T0 + timedelta(seconds=10), "last_handed_at": T0 + timedelta(seconds=7)}
    outcome = pacing.reserve(POLICY, state, T0, "m1", no_jitter)
    assert outcome.slot == T0 + timedelta(seconds=17)


def test_a_redelivered_send_gets_its_own_slot_again_without_counting_twice():
    first = pacing.reserve(POLICY, {}, T0, "m1", no_jitter)
    state = first.state
    again = pacing.reserve(POLICY, state, T0 + timedelta(seconds=3), "m1", no_jitter)
    assert again.slot == first.slot and again.state == {}


def test_the_warmup_ramp_limits_each_day_and_ends_after_its_days():
    assert [pacing.day_limit(POLICY, day) for day in ("2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03",
                                                      "2026-01-04")] == [None, 2, 5, 8, None]
    state: dict = {}
    for number in range(2):
        state = {**state, **pacing.reserve(POLICY, state, T0, f"m{number}", no_jitter).state}
    assert pacing.reserve(POLICY, state, T0, "m2", no_jitter) == pacing.DAILY_LIMIT_REACHED
    # The next day counts from zero again, against that day's limit.
    assert isinstance(pacing.reserve(POLICY, state, T0 + timedelta(days=1), "m2", no_jitter), pacing.Reserved)


def test_changing_the_gap_keeps_the_warmup_under_way_and_a_new_warmup_starts_today():
    stored = pacing.policy_to_store({**POLICY, "min_gap_seconds": 3}, POLICY, T0 + timedelta(days=2))
    assert stored["since"] == "2026-01-01"
    fresh = pacing.policy_to_store({"min_gap_seconds": 3, "warmup": POLICY["warmup"]}, {"min_gap_seconds": 3,
                                   "since": "2025-06-01", "warmup": None}, T0)
    assert fresh["since"] == "2026-01-01"
    assert pacing.policy_to_store(None, POLICY, T0) is None


def test_the_session_view_shows_the_policy_and_todays_usage_and_satisfies_its_contract():
    session = {"pacing": POLICY, "pacing_state": {"next_free_at": T0 + timedelta(seconds=30), "day": "2026-01-01",
                                                  "sent_today": 2, "last_handed_at": T0}}
    shown = pacing.view(session, T0 + timedelta(seconds=5), waiting=3)
    assert shown["usage"] == {"waiting": 3, "next_slot_at": T0 + timedelta(seconds=30), "day": "2026-01-01",
                              "sent_today": 2, "day_limit": 2}
    view = {"session_id": "s_1", "tenant_id": "u_1", "name": "n", "description": "", "status": "CONNECTED",
            "worker_id": "w-1", "created_at": T0, "updated_at": T0, "pacing": shown}
    assert SessionView().load(SessionView().dump(view))["pacing"]["usage"]["day_limit"] == 2
    assert pacing.view({"pacing": None}, T0) is None
