"""The bench's arithmetic and report (bench/suite): percentiles, ratios, headlines, the table.
The bench itself is not run by the test suite (`make bench`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from suite.report import assemble, headlines, table  # noqa: E402
from suite.stats import latency_summary, percentile, rate, ratio  # noqa: E402

pytestmark = pytest.mark.unit

CONDITIONS = {"cpus": 2, "started_at": "20260101T000000", "load_average_at_start": {"1m": 1.5},
              "load_average_at_end": {"1m": 2.5}}


def test_percentile_is_the_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([3, 1, 2], 50) == 2  # unordered input
    with pytest.raises(ValueError):
        percentile([], 50)


def test_latency_summary_is_in_milliseconds():
    summary = latency_summary([0.001, 0.002, 0.003, 0.004])
    assert summary == {"count": 4, "p50_ms": 2.0, "p90_ms": 4.0, "p99_ms": 4.0, "max_ms": 4.0, "mean_ms": 2.5}
    assert latency_summary([]) == {"count": 0}


def test_rate_and_ratio_survive_missing_figures():
    assert rate(300, 30) == 10.0
    assert rate(5, 0) == 0.0
    assert ratio(50, 100) == 0.5
    assert ratio(0, 100) == 0.0
    assert ratio(None, 100) is None
    assert ratio(5, 0) is None


def _sends(gateway_rate: float, gateway_p99: float, gateway_ms: dict | None = None) -> dict:
    base_rate, base_p99 = 1000.0, 40.0
    cpu = {"ms_by_process": gateway_ms if gateway_ms is not None else {"gateway": 0.4, "mongodb": 3.0}}
    return {"gateway": {"rate_per_s": gateway_rate, "latency": {"p50_ms": 10.0, "p99_ms": gateway_p99},
                        "cpu_per_send": cpu},
            "baseline_bare_publish": {"rate_per_s": base_rate, "latency": {"p50_ms": 5.0, "p99_ms": base_p99}},
            "throughput_vs_baseline": ratio(gateway_rate, base_rate), "p99_vs_baseline": ratio(gateway_p99, base_p99),
            "goal": {}}


def test_the_gateway_is_judged_by_its_cpu_per_send_over_all_its_replicas():
    met = headlines({"sends": _sends(600.0, 70.0)})
    assert [(r["figure"], r["met"]) for r in met] == [
        ("accepted sends", None), ("accepted p50", None), ("accepted p99", None),
        ("gateway CPU per send", True), ("platform CPU per send", None)]
    assert met[0]["ratio"] == 0.6  # still shown beside the bare handler's
    two = headlines({"sends": _sends(600.0, 70.0, {"gateway": 0.3, "gateway-1": 0.3, "mongodb": 1.0})})
    gateway = next(r for r in two if r["figure"] == "gateway CPU per send")
    assert gateway["measured"] == 0.6 and gateway["met"] is False


def _completed(rate: float, lost: int, **extra) -> dict:
    return {"rate_per_s": rate, "latency": {"p50_ms": 100.0, "p99_ms": 300.0}, "lost": lost,
            "rate_vs_baseline": 0.3, "baseline_broker": {"rate_per_s": 1000.0, "latency": {}}, **extra}


def test_a_lost_message_misses_the_completed_goal():
    rows = {r["figure"]: r for r in headlines({"completed": _completed(120.0, 1)})}
    assert rows["completed sends"]["met"] is True
    assert rows["lost"]["met"] is False
    assert {r["figure"]: r for r in headlines({"completed": _completed(99.0, 0)})}["completed sends"]["met"] is False


def test_work_per_message_is_judged_without_the_local_database_server():
    cpu = {"ms_by_process": {"gateway": 1.0, "mongodb": 20.0}, "total_ms": 21.0, "total_ms_without_database": 1.0}
    rows = {r["figure"]: r for r in headlines({"completed": _completed(
        120.0, 0, cpu_per_message=cpu, db_commands_per_message=9.0, broker_deliveries_per_message=10.0)})}
    assert rows["CPU per message, without database"]["met"] is True
    assert rows["DB commands per message"]["met"] is False
    assert rows["broker deliveries per message"]["met"] is True


def test_a_push_p99_meets_its_goal_only_within_both_bounds():
    def p99(measured, bare):
        scenarios = [{"scenario": "bare-socketio", "p99_ms": bare}, {"scenario": "realtime-1", "p99_ms": measured}]
        return next(r for r in headlines({"realtime": {"scenarios": scenarios}}) if r["figure"] == "push p99")["met"]

    assert p99(90.0, 20.0) is True
    assert p99(90.0, 10.0) is False  # more than 5x the bare server
    assert p99(120.0, 100.0) is False  # over 100 ms


def test_the_paced_push_is_shown_beside_the_bare_server_and_never_judges_the_goal():
    scenarios = [{"scenario": "bare-socketio", "p99_ms": 10.0}, {"scenario": "realtime-2", "p99_ms": 300.0},
                 {"scenario": "realtime-2-paced", "p99_ms": 30.0}]
    rows = {r["figure"]: r for r in headlines({"realtime": {"scenarios": scenarios, "headline": "realtime-2"}})}
    paced = rows["push p99, paced as the bare server emits"]
    assert (paced["measured"], paced["baseline"], paced["ratio"]) == (30.0, 10.0, 3.0)
    assert paced["goal"] == "" and paced["met"] is None
    assert rows["push p99"]["measured"] == 300.0 and rows["push p99"]["met"] is False  # the goal stays on the burst
    unpaced = [{"scenario": "bare-socketio", "p99_ms": 10.0}, {"scenario": "realtime-1", "p99_ms": 30.0}]
    assert "push p99, paced as the bare server emits" not in {r["figure"] for r in headlines(
        {"realtime": {"scenarios": unpaced}})}


def test_cpu_per_item_adds_up_each_process_share_and_bounds_the_rate(monkeypatch):
    from suite import stats

    monkeypatch.setattr(stats.os, "cpu_count", lambda: 2)
    figures = stats.cpu_per_item({"gateway": 50.0, "broker": 30.0, "gone": None}, 100.0)
    # 50 % of a core at 100 sends/s is 5 ms a send; 8 ms in all: two busy cores do 250 a second.
    assert figures == {"ms_by_process": {"gateway": 5.0, "broker": 3.0}, "total_ms": 8.0,
                       "total_ms_without_database": 8.0, "ceiling_per_s": 250.0}
    assert stats.cpu_per_item({"gateway": 50.0, "mongodb": 100.0}, 100.0)["total_ms_without_database"] == 5.0
    assert stats.cpu_per_item({"gateway": 50.0}, 0.0)["total_ms"] is None


def test_report_keeps_conditions_and_errors_and_prints_a_table():
    report = assemble({"sends": _sends(600.0, 70.0)}, {"webhooks": "TimeoutError: x"}, CONDITIONS, "make bench")
    assert report["conditions"]["load_average_at_start"] == {"1m": 1.5}
    assert report["goals_met"] is False  # a part failed
    text = table(report)
    assert "accepted sends (/s)" in text and "1,000.0" in text and "0.60" in text
    assert "load average (1m) at start 1.5, at end 2.5" in text
    assert "part webhooks failed: TimeoutError: x" in text
    clean = assemble({"sends": _sends(600.0, 70.0)}, {}, CONDITIONS, "make bench")
    assert clean["goals_met"] is True


def test_each_figure_is_shown_beside_the_newest_earlier_run_that_measured_it():
    from suite.report import compare_with_earlier

    older = assemble({"sends": _sends(500.0, 70.0)}, {}, {**CONDITIONS, "started_at": "20261125T100000"}, "make bench")
    newer = assemble({"sends": _sends(600.0, 70.0)}, {}, {**CONDITIONS, "started_at": "20261125T110000"}, "make bench")
    other_part = assemble({}, {"sends": "boom"}, {**CONDITIONS, "started_at": "20261125T120000"}, "make bench")
    report = assemble({"sends": _sends(660.0, 77.0)}, {}, CONDITIONS, "make bench")
    compare_with_earlier(report, [older, other_part, newer])
    rows = {r["figure"]: r for r in report["headlines"]}
    assert rows["accepted sends"]["previous"] == 600.0 and rows["accepted sends"]["previous_run"] == "20261125T110000"
    assert "previous" not in rows["platform CPU per send"]  # never measured before: nothing to show
    text = table(report)
    assert "+10%" in text and "bench-20261125T110000.json" in text


def test_a_figure_never_measured_here_is_shown_beside_its_value_when_the_goals_were_set():
    from suite import goals
    from suite.report import compare_with_earlier

    report = assemble({"sends": _sends(600.0, 70.0)}, {}, CONDITIONS, "make bench")
    compare_with_earlier(report, [])
    row = next(r for r in report["headlines"] if r["figure"] == "gateway CPU per send")
    assert row["previous"] == goals.BEFORE[("sends", "gateway CPU per send")]
    assert row["previous_run"] == goals.BEFORE_LABEL
    assert "when the goals were set" in table(report)


def test_runs_at_another_number_of_replicas_are_not_compared():
    from suite.report import compare_with_earlier

    two = assemble({"sends": _sends(900.0, 70.0)}, {}, {**CONDITIONS, "replicas": 2}, "make bench")
    report = assemble({"sends": _sends(600.0, 70.0)}, {}, CONDITIONS, "make bench")
    compare_with_earlier(report, [two])
    assert next(r for r in report["headlines"] if r["figure"] == "accepted sends").get("previous") is None


def test_handler_times_come_from_the_services_metrics():
    from suite.service_metrics import handler_times

    text = "\n".join([
        "# HELP wagw_broker_handler_duration_seconds Time spent handling one message",
        'wagw_broker_handler_duration_seconds_bucket{le="0.005",queue="a.sends.1"} 2.0',
        'wagw_broker_handler_duration_seconds_count{queue="a.sends.1"} 4.0',
        'wagw_broker_handler_duration_seconds_sum{queue="a.sends.1"} 0.5',
        'wagw_broker_handler_duration_seconds_count{queue="idle"} 0.0',
        'wagw_broker_handler_duration_seconds_sum{queue="idle"} 0.0',
    ])
    assert handler_times(text) == {"a.sends.1": {"handled": 4, "mean_ms": 125.0},
                                   "idle": {"handled": 0, "mean_ms": None}}


def test_heartbeats_report_the_registrys_database_commands_per_heartbeat():
    fleet = {"heartbeats_per_s": 99.0, "heartbeats_sent_per_s": 100.0, "saturated": False,
             "heartbeat_lag": {"p99_ms": 40.0}, "registry_db_commands_per_message": 2.004}
    rows = {row["figure"]: row for row in headlines({"heartbeats": {"fleet": fleet, "broker_baseline": {}}})}
    assert rows["registry DB commands per heartbeat"]["measured"] == 2.004
    assert rows["heartbeats recorded"]["met"] is True
