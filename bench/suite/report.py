"""The report of a bench run: one JSON document with every part's figures, the machine's load, and a
headline row per figure (measured, its baseline, their ratio, the goal) for the table and the chart."""

from __future__ import annotations

from typing import Any

from . import goals
from .stats import ratio


def _get(data: dict, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _row(part: str, figure: str, unit: str, measured, baseline, goal: str = "", met: bool | None = None) -> dict:
    return {"part": part, "figure": figure, "unit": unit, "measured": measured, "baseline": baseline,
            "ratio": ratio(measured, baseline), "goal": goal, "met": met}


def headlines(results: dict) -> list[dict]:
    """The figures worth a line in the table, from whichever parts ran."""
    rows = []
    if r := results.get("sends"):
        gw, base = r["gateway"], r["baseline_bare_publish"]
        rows.append(_row("sends", "accepted sends", "/s", gw["rate_per_s"], base["rate_per_s"]))
        rows.append(_row("sends", "accepted p50", "ms", _get(gw, "latency.p50_ms"), _get(base, "latency.p50_ms")))
        rows.append(_row("sends", "accepted p99", "ms", _get(gw, "latency.p99_ms"), _get(base, "latency.p99_ms")))
        gateway_ms = goals.summed(_get(gw, "cpu_per_send.ms_by_process"), "gateway")
        rows.append(_row("sends", "gateway CPU per send", "ms", gateway_ms,
                         _get(base, "cpu_per_send.ms_by_process.server"), f"<= {goals.GATEWAY_CPU_MAX_MS}",
                         goals.at_most(gateway_ms, goals.GATEWAY_CPU_MAX_MS)))
        rows.append(_row("sends", "platform CPU per send", "ms", _get(gw, "cpu_per_send.total_ms"),
                         _get(base, "cpu_per_send.total_ms")))
    if r := results.get("completed"):
        base = r["baseline_broker"]["rate_per_s"]
        rows.append(_row("completed", "completed sends", "/s", r["rate_per_s"], base,
                         f">= {goals.COMPLETED_MIN_PER_S:g}",
                         goals.at_least(r["rate_per_s"], goals.COMPLETED_MIN_PER_S)))
        rows.append(_row("completed", "end-to-end p50", "ms", _get(r, "latency.p50_ms"),
                         _get(r, "baseline_broker.latency.p50_ms")))
        rows.append(_row("completed", "end-to-end p99", "ms", _get(r, "latency.p99_ms"),
                         _get(r, "baseline_broker.latency.p99_ms")))
        rows.append(_row("completed", "lost", "msgs", r["lost"], 0, "0", r["lost"] == 0))
        rows.append(_row("completed", "CPU per message", "ms", _get(r, "cpu_per_message.total_ms"),
                         _get(r, "baseline_broker.cpu_per_message.total_ms")))
        without_db = _get(r, "cpu_per_message.total_ms_without_database")
        rows.append(_row("completed", "CPU per message, without database", "ms", without_db,
                         _get(r, "baseline_broker.cpu_per_message.total_ms"), f"<= {goals.CPU_PER_MESSAGE_MAX_MS:g}",
                         goals.at_most(without_db, goals.CPU_PER_MESSAGE_MAX_MS)))
        if "db_commands_per_message" in r:
            rows.append(_row("completed", "DB commands per message", "cmds", r["db_commands_per_message"], None,
                             f"<= {goals.DB_COMMANDS_MAX:g}", goals.at_most(r["db_commands_per_message"],
                                                                          goals.DB_COMMANDS_MAX)))
            rows.append(_row("completed", "broker deliveries per message", "msgs", r["broker_deliveries_per_message"],
                             1, f"<= {goals.BROKER_DELIVERIES_MAX:g}",
                             goals.at_most(r["broker_deliveries_per_message"], goals.BROKER_DELIVERIES_MAX)))
        rows.append(_row("completed", "all cores busy at", "/s", _get(r, "cpu_per_message.ceiling_per_s"),
                         _get(r, "baseline_broker.cpu_per_message.ceiling_per_s")))
    if r := results.get("heartbeats"):
        rows.append(_row("heartbeats", "heartbeats recorded", "/s", _get(r, "fleet.heartbeats_per_s"),
                         _get(r, "fleet.heartbeats_sent_per_s"), "keeps up",
                         not _get(r, "fleet.saturated")))
        rows.append(_row("heartbeats", "heartbeat lag p99", "ms", _get(r, "fleet.heartbeat_lag.p99_ms"),
                         _get(r, "broker_baseline.paced_at_heartbeat_rate.latency.p99_ms")))
        rows.append(_row("heartbeats", "registry DB commands per heartbeat", "cmds",
                         _get(r, "fleet.registry_db_commands_per_message"), None))
    if r := results.get("webhooks"):
        rows.append(_row("webhooks", "deliveries", "/s", _get(r, "dispatcher.rate_per_s"),
                         _get(r, "baseline_bare_http.rate_per_s")))
        rows.append(_row("webhooks", "delivery p99", "ms", _get(r, "dispatcher.latency.p99_ms"),
                         _get(r, "baseline_bare_http.latency.p99_ms")))
    if r := results.get("realtime"):
        scenarios = {s["scenario"]: s for s in r.get("scenarios", [])}
        bare, one = scenarios.get("bare-socketio", {}), scenarios.get(r.get("headline", "realtime-1"), {})
        rows.append(_row("realtime", "push p50", "ms", one.get("p50_ms"), bare.get("p50_ms")))
        rows.append(_row("realtime", "push p99", "ms", one.get("p99_ms"), bare.get("p99_ms"),
                         f"<= {goals.PUSH_P99_MAX_MS:g} and <= {goals.PUSH_P99_MAX_VS_BARE:g}x",
                         goals.push_p99_met(one.get("p99_ms"), bare.get("p99_ms"))))
        if paced := scenarios.get(r.get("headline", "realtime-1") + "-paced", {}):
            # Published as the bare server emits (one at a time): the like-for-like comparison with it.
            rows.append(_row("realtime", "push p99, paced as the bare server emits", "ms", paced.get("p99_ms"),
                             bare.get("p99_ms")))
        if broker := scenarios.get("broker-only", {}):
            rows.append(_row("realtime", "push p99 vs broker alone", "ms", one.get("p99_ms"), broker.get("p99_ms")))
        rows.append(_row("realtime", "server CPU per event", "ms", one.get("server_cpu_ms_per_event"),
                         bare.get("server_cpu_ms_per_event")))
        if broker:
            rows.append(_row("realtime", "RabbitMQ CPU per event", "ms", one.get("rabbitmq_cpu_ms_per_event"),
                             broker.get("rabbitmq_cpu_ms_per_event")))
        rows.append(_row("realtime", "missed deliveries", "msgs", one.get("missing"), bare.get("missing"), "0",
                         one.get("missing") == 0 if one else None))
    if r := results.get("scaling"):
        rows.extend(scaling_rows(r))
    if r := results.get("failover"):
        rows.append(_row("failover", "kill -> sessions back", "s", r.get("recovered_after_s"),
                         r.get("offline_timeout_s")))
    return rows


# What each service's scaling round drains, for the row's name.
SCALED_ITEMS = {"gateway": "accepted sends", "session-orchestrator": "sends handled",
                "webhook-dispatcher": "deliveries"}


def scaling_rows(result: dict) -> list[dict]:
    """Per service: the rate at two replicas beside the rate at one (the ratio is the speedup), and the
    service's CPU per item over all its replicas at two beside one (the same work split, or more)."""
    rows = []
    for service, scaled in result.get("services", {}).items():
        two = scaled["two_replicas"]
        items = SCALED_ITEMS.get(service, "items")
        rows.append(_row("scaling", f"{service}: {items}, 2 replicas vs 1", "/s", two["rate_per_s"],
                         scaled["rate_per_s_at_one"]))
        rows.append(_row("scaling", f"{service}: CPU per item, 2 replicas vs 1", "ms", two["service_ms_per_item"],
                         scaled["service_ms_per_item_at_one"]))
    for row in rows:
        row["labels"] = ["2 replicas", "1 replica"]  # the chart's bars: the baseline is one replica
    return rows


def assemble(results: dict, errors: dict, conditions: dict, command: str) -> dict:
    rows = headlines(results)
    goals = [row for row in rows if row["met"] is not None]
    return {"benchmark": "platform", "command": command, "conditions": conditions,
            "goals_met": all(row["met"] for row in goals) if goals and not errors else False,
            "headlines": rows, "errors": errors, "parts": results}


def compare_with_earlier(report: dict, earlier: list[dict]) -> None:
    """Puts beside each headline the same figure from the newest earlier run that measured it (runs of
    other code or other conditions too: the table shows where it comes from), so a run shows at once
    whether it repeats the one before. Only runs at the same number of replicas are compared."""
    replicas = report["conditions"].get("replicas", 1)
    same_scale = [r for r in earlier if r.get("conditions", {}).get("replicas", 1) == replicas]
    newest_first = sorted(same_scale, key=lambda r: r.get("conditions", {}).get("started_at", ""), reverse=True)
    for row in report["headlines"]:
        for other in newest_first:
            match = next((r for r in other.get("headlines", []) if (r.get("part"), r.get("figure")) ==
                          (row["part"], row["figure"]) and r.get("measured") is not None), None)
            if match is not None:
                row["previous"] = match["measured"]
                row["previous_run"] = other["conditions"].get("started_at")
                break
        else:
            if (before := goals.BEFORE.get((row["part"], row["figure"]))) is not None:
                row["previous"], row["previous_run"] = before, goals.BEFORE_LABEL


def _change(row: dict) -> str:
    previous, measured = row.get("previous"), row.get("measured")
    if not previous or measured is None:
        return ""
    return f"{(measured / previous - 1) * 100:+.0f}%"


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(report: dict) -> str:
    header = ("part", "figure", "measured", "baseline", "ratio", "goal", "met", "previous run", "change")
    lines = [[row["part"], f"{row['figure']} ({row['unit']})", _cell(row["measured"]), _cell(row["baseline"]),
              _cell(row["ratio"]), row["goal"] or "", {True: "yes", False: "NO", None: ""}[row["met"]],
              _cell(row.get("previous")), _change(row)]
             for row in report["headlines"]]
    widths = [max(len(str(c)) for c in column) for column in zip(header, *lines, strict=True)]
    out = ["  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                     for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
           for cells in [header, *lines]]
    c = report["conditions"]
    out.append(f"\nmachine: {c.get('cpus')} cores; load average (1m) at start {c['load_average_at_start']['1m']}, "
               f"at end {c.get('load_average_at_end', {}).get('1m')}")
    previous = {row["previous_run"] for row in report["headlines"] if row.get("previous_run")}
    runs = sorted(previous - {goals.BEFORE_LABEL})
    if runs:
        out.append("previous run: the same figure in the newest earlier result in bench/results "
                   f"({', '.join(f'bench-{r}.json' for r in runs)})")
    if any(row.get("previous_run") == goals.BEFORE_LABEL for row in report["headlines"]):
        out.append(f"previous run '{goals.BEFORE_LABEL}': the figure when the goals were set (docs/performance.md)")
    if replicas := report["conditions"].get("replicas"):
        out.append(f"services at {replicas} replica(s) each")
    for name, error in report["errors"].items():
        out.append(f"part {name} failed: {error}")
    return "\n".join(out)
