from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from wagw_worker_registry.score import Candidate, factors, rank, score

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def c(worker_id: str = "a", free: int = 25, max_sessions: int = 50, **kw) -> Candidate:
    defaults = dict(state="online", session_count=max_sessions - free, heartbeat_interval=10.0,
                    last_heartbeat_at=NOW - timedelta(seconds=5), expires_at=NOW + timedelta(seconds=25))
    return Candidate(worker_id=worker_id, free=free, max_sessions=max_sessions, **{**defaults, **kw})


def test_a_healthy_idle_empty_worker_scores_one():
    assert score(c(free=50), NOW) == 1.0
    assert factors(c(free=50), NOW) == {"capacity": 1.0, "health": 1.0, "resources": 1.0, "stability": 1.0}


def test_the_score_is_the_weighted_sum_of_its_factors():
    worker = c(free=10, cpu_percent=50.0, cpu_cores=2, memory_mb=512, memory_limit_mb=1024)
    parts = factors(worker, NOW)
    assert parts == {"capacity": 0.2, "health": 1.0, "resources": 0.5, "stability": 1.0}
    assert score(worker, NOW) == round(0.4 * 0.2 + 0.2 * 1.0 + 0.2 * 0.5 + 0.2 * 1.0, 4)


@pytest.mark.parametrize("worker", [
    c(state="draining"), c(state="offline"), c(free=0), c(max_sessions=0, free=0),
], ids=["draining", "offline", "full", "no capacity"])
def test_draining_offline_and_full_workers_have_no_score_and_are_never_ranked(worker):
    assert score(worker, NOW) is None and rank([worker], NOW) == []


def test_health_falls_from_one_interval_late_to_zero_at_the_offline_deadline():
    last = NOW - timedelta(seconds=20)  # one interval late; the deadline is 30 s after the last beat
    assert factors(c(last_heartbeat_at=NOW - timedelta(seconds=10), expires_at=NOW + timedelta(seconds=20)),
                   NOW)["health"] == 1.0
    assert factors(c(last_heartbeat_at=last, expires_at=last + timedelta(seconds=30)), NOW)["health"] == 0.5
    assert factors(c(last_heartbeat_at=NOW - timedelta(seconds=30), expires_at=NOW), NOW)["health"] == 0.0
    assert factors(c(last_heartbeat_at=None, expires_at=None), NOW)["health"] == 1.0


def test_resources_take_the_scarcer_of_cpu_and_memory():
    assert factors(c(cpu_percent=80.0), NOW)["resources"] == pytest.approx(0.2)  # one core assumed
    assert factors(c(cpu_percent=80.0, cpu_cores=4), NOW)["resources"] == pytest.approx(0.8)
    assert factors(c(cpu_percent=10.0, memory_mb=900, memory_limit_mb=1000), NOW)["resources"] == pytest.approx(0.1)
    assert factors(c(memory_mb=900), NOW)["resources"] == 1.0  # no limit announced: memory not judged
    assert factors(c(cpu_percent=400.0), NOW)["resources"] == 0.0


def test_stability_drops_with_recent_offline_spells_and_troubled_sessions():
    spells = (NOW - timedelta(minutes=10), NOW - timedelta(minutes=50), NOW - timedelta(hours=3))
    assert factors(c(recent_offline_at=spells), NOW)["stability"] == pytest.approx(1 / 3)  # two within the hour
    assert factors(c(free=10, troubled_sessions=10), NOW)["stability"] == pytest.approx(0.75)  # 10 of 40


def test_the_best_score_wins_then_free_slots_then_the_id():
    busy_but_roomy = c("roomy", free=40, cpu_percent=95.0)
    calm = c("calm", free=30)
    flaky = c("flaky", free=45, recent_offline_at=(NOW - timedelta(minutes=1),) * 3)
    assert rank([busy_but_roomy, calm, flaky], NOW) == ["calm", "flaky", "roomy"]
    assert rank([c("b"), c("a")], NOW) == ["a", "b"]
    twin = replace(c("z", free=26), session_count=24)
    assert score(twin, NOW) > score(c("y"), NOW) and rank([c("y"), twin], NOW) == ["z", "y"]
