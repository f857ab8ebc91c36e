"""The scaling part's arithmetic (bench/suite/scaling_figures.py) and its rows in the report: each
service's rate and CPU per item at two replicas beside the same at one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from suite import stats  # noqa: E402
from suite.report import assemble, headlines, table  # noqa: E402
from suite.scaling_figures import compare, round_figures  # noqa: E402

pytestmark = pytest.mark.unit

CONDITIONS = {"cpus": 2, "started_at": "20260101T000000", "load_average_at_start": {"1m": 1.0},
              "load_average_at_end": {"1m": 2.0}}


@pytest.fixture(autouse=True)
def two_cores(monkeypatch):
    monkeypatch.setattr(stats.os, "cpu_count", lambda: 2)


def test_a_round_adds_up_the_replicas_cpu_per_item_and_names_what_was_busiest():
    cpu = {"gateway": 90.0, "gateway-1": 88.0, "rabbitmq": 40.0, "bench": 30.0, "gone": None}
    figures = round_figures("gateway", 2, items=8000, seconds=20.0, cpu_percent=cpu)
    assert figures["rate_per_s"] == 400.0
    # 90 % of a core at 400/s is 2.25 ms an item; 88 % is 2.2 ms: 4.45 ms over both replicas.
    assert figures["service_ms_per_item"] == 4.45
    assert figures["service_percent_per_replica"] == {"gateway": 90.0, "gateway-1": 88.0}
    assert figures["busiest"] == "gateway"
    assert figures["saturated"] == ["gateway", "gateway-1"]
    assert figures["cpu_per_item"]["ms_by_process"]["rabbitmq"] == 1.0


def test_a_replica_is_told_from_a_service_whose_name_starts_alike():
    cpu = {"session-orchestrator": 50.0, "session-orchestrator-1": 30.0, "worker-registry": 10.0}
    waiting = {"session-orchestrator": 120.0, "session-orchestrator-1": None, "worker-registry": 5.0}
    figures = round_figures("session-orchestrator", 2, items=100, seconds=1.0, cpu_percent=cpu,
                            waiting_percent=waiting)
    assert figures["service_percent_per_replica"] == {"session-orchestrator": 50.0, "session-orchestrator-1": 30.0}
    assert figures["service_waiting_percent_per_replica"] == {"session-orchestrator": 120.0}
    assert figures["waiting_for_a_core_percent"] == waiting
    assert figures["service_ms_per_item"] == 8.0
    assert figures["saturated"] == []


def test_nothing_done_gives_no_rate_and_no_cpu_per_item():
    figures = round_figures("webhook-dispatcher", 1, items=0, seconds=30.0, cpu_percent={"webhook-dispatcher": 5.0})
    assert figures["rate_per_s"] == 0.0
    assert figures["service_ms_per_item"] is None


def test_two_replicas_are_compared_with_one_by_rate_and_by_work_per_item():
    one = round_figures("gateway", 1, items=4000, seconds=20.0, cpu_percent={"gateway": 95.0})
    two = round_figures("gateway", 2, items=7000, seconds=20.0, cpu_percent={"gateway": 90.0, "gateway-1": 85.0})
    scaled = compare(one, two)
    assert scaled["rate_per_s_at_one"] == 200.0
    assert scaled["speedup"] == 1.75
    assert scaled["service_cpu_per_item_change"] == 1.053  # 5.0 ms over both replicas against 4.75 ms


def test_the_baseline_is_the_mean_of_the_rounds_at_one_replica_before_and_after():
    before = round_figures("gateway", 1, items=4000, seconds=20.0, cpu_percent={"gateway": 100.0})
    two = round_figures("gateway", 2, items=6000, seconds=20.0, cpu_percent={"gateway": 75.0, "gateway-1": 75.0})
    after = round_figures("gateway", 1, items=2000, seconds=20.0, cpu_percent={"gateway": 60.0})
    scaled = compare(before, two, after)
    # 200/s and 100/s at one replica (the machine got busier): 150/s, which two replicas double.
    assert scaled["rate_per_s_at_one"] == 150.0
    assert scaled["speedup"] == 2.0
    assert scaled["service_ms_per_item_at_one"] == 5.5  # 5 ms and 6 ms
    assert scaled["one_replica_again"] is after


def test_the_report_shows_each_service_at_two_replicas_beside_one():
    one = round_figures("webhook-dispatcher", 1, items=1500, seconds=30.0, cpu_percent={"webhook-dispatcher": 80.0})
    two = round_figures("webhook-dispatcher", 2, items=1500, seconds=20.0,
                        cpu_percent={"webhook-dispatcher": 60.0, "webhook-dispatcher-1": 60.0})
    rows = headlines({"scaling": {"services": {"webhook-dispatcher": compare(one, two)}}})
    assert [(r["figure"], r["measured"], r["baseline"], r["ratio"]) for r in rows] == [
        ("webhook-dispatcher: deliveries, 2 replicas vs 1", 75.0, 50.0, 1.5),
        ("webhook-dispatcher: CPU per item, 2 replicas vs 1", 16.0, 16.0, 1.0)]
    assert all(r["labels"] == ["2 replicas", "1 replica"] for r in rows)
    text = table(assemble({"scaling": {"services": {"webhook-dispatcher": compare(one, two)}}}, {}, CONDITIONS,
                          "make bench ARGS='--only scaling'"))
    assert "webhook-dispatcher: deliveries, 2 replicas vs 1 (/s)" in text and "1.50" in text
