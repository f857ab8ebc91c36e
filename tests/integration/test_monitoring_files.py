"""The monitoring files in deploy/monitoring, checked offline (no Prometheus or Grafana here): every
alert rule and dashboard query parses as PromQL and names only metrics the services expose (the list
generated into docs/metrics.md), shared-state gauges are aggregated with max/min (every replica
reports the same value), and each alert links to a section of the runbook that exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest
import yaml

from harness.scrape import documented_metrics

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"
REQUIRED_ALERTS = {"WagwWorkerOffline", "WagwDeadLettersGrowing", "WagwWebhookFailureRate", "WagwReadinessFailing"}
# Gauges of shared state: the same value from every replica, so never summed.
SHARED_STATE = {"wagw_queue_messages", "wagw_dead_letter_messages", "wagw_workers", "wagw_worker_free_slots",
                "wagw_sessions", "wagw_messages", "wagw_webhook_deliveries", "wagw_webhook_endpoints"}
PROMETHEUS_OWN = {"up"}
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def known_series() -> set[str]:
    names = set().union(*documented_metrics().values())
    return names | {n + s for n in names for s in HISTOGRAM_SUFFIXES} | PROMETHEUS_OWN


def selectors(node, aggregations: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
    """Every metric a PromQL expression selects, with the aggregation operators above it."""
    kind = type(node).__name__
    if kind == "VectorSelector":
        return [(node.name, aggregations)]
    if kind == "AggregateExpr":
        aggregations = (*aggregations, str(node.op))
    found = []
    for attr in ("lhs", "rhs", "expr", "vector_selector", "param"):
        child = getattr(node, attr, None)
        if child is not None and type(child).__module__.startswith("promql"):
            found += selectors(child, aggregations)
    for child in getattr(node, "args", None) or []:
        found += selectors(child, aggregations)
    return found


def check_expression(expr: str) -> list[str]:
    problems = []
    try:
        tree = promql_parser.parse(expr)
    except Exception as exc:  # the parser raises its own error types
        return [f"does not parse: {exc}"]
    known = known_series()
    for name, aggregations in selectors(tree):
        if name not in known:
            problems.append(f"{name} is no metric the services expose")
        if name in SHARED_STATE and (not aggregations or aggregations[-1] not in {"max", "min"}):
            problems.append(f"{name} is shared state: aggregate it with max() or min(), "
                            f"not {aggregations or 'nothing'}")
    return problems


def rules() -> list[dict]:
    document = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def runbook_anchors() -> set[str]:
    headings = re.findall(r"^#{2,3} (.+)$", (REPO / "docs" / "runbook.md").read_text(), re.M)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-") for h in headings}


def test_the_required_alerts_exist_with_severity_summary_and_runbook():
    found = {rule["alert"]: rule for rule in rules()}
    assert REQUIRED_ALERTS <= found.keys()
    anchors = runbook_anchors()
    for name, rule in found.items():
        assert name.startswith("Wagw") and set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, name
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert rule["annotations"]["summary"], name
        target, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert target == "docs/runbook.md" and anchor in anchors, f"{name}: no runbook section #{anchor}"
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"]), name


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_every_alert_expression_parses_and_names_exposed_metrics(rule):
    assert not check_expression(rule["expr"])


def dashboard() -> dict:
    return json.loads((MONITORING / "grafana/dashboards/wagw.json").read_text())


def test_dashboard_queries_parse_and_name_exposed_metrics():
    board = dashboard()
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert len(panels) >= 12
    problems = {}
    for panel in panels:
        for target in panel["targets"]:
            found = check_expression(target["expr"])
            if found:
                problems[f"{panel['title']} {target['refId']}"] = found
    assert not problems, problems
    shown = {name for p in panels for t in p["targets"] for name, _ in selectors(promql_parser.parse(t["expr"]))}
    # Everything the issue asks ops to watch is on the dashboard.
    for metric in ("wagw_http_requests_total", "wagw_broker_messages_consumed_total", "wagw_queue_messages",
                   "wagw_dead_letter_messages", "wagw_workers", "wagw_sessions", "wagw_messages",
                   "wagw_webhook_attempts_total", "wagw_realtime_connections", "wagw_dependency_up"):
        assert metric in shown, f"the dashboard does not show {metric}"


def test_dashboard_uses_the_provisioned_datasource_and_fits_the_grid():
    board = dashboard()
    provisioned = yaml.safe_load((MONITORING / "grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = provisioned["datasources"][0]["uid"]
    (variable,) = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert variable["current"]["value"] == uid
    assert board["uid"] and board["title"]
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_the_kubernetes_scrape_config_labels_targets_by_service():
    config = yaml.safe_load((MONITORING / "prometheus-kubernetes.yml").read_text())
    (job,) = config["scrape_configs"]
    relabel = {r.get("target_label"): r for r in job["relabel_configs"]}
    assert relabel["service"]["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    assert relabel["__metrics_path__"]["source_labels"] == ["__meta_kubernetes_pod_annotation_prometheus_io_path"]
