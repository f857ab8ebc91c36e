"""docs/metrics.md's reference part: every Prometheus metric each service exposes, read from the
metric registry of a fresh interpreter per service that imports the shared library's service runner
and that service's app module (what any process imports first would otherwise be credited to it).
Metrics every service exposes are listed once; a metric some services share (the worker uplink's
refusals) is listed under each of them."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase
from wagw_common.services import SERVICES

EVERY_SERVICE = "every service"


def _collectors() -> dict[str, object]:
    return {name: collector for collector, names in REGISTRY._collector_to_names.items() for name in names}


def _families() -> dict[str, MetricWrapperBase]:
    """Our metrics by family name (a counter's name without `_total`)."""
    found = {}
    for collector in set(_collectors().values()):
        name = getattr(collector, "_name", None)
        if isinstance(collector, MetricWrapperBase) and name and name.startswith("wagw_"):
            found[name] = collector
    return found


def inventory() -> dict[str, list[dict]]:
    """{owner: [{name, type, labels, help}]}, owner being EVERY_SERVICE or a service name."""
    exposed = {service: _exposed_by(package) for service, package in SERVICES.items()}
    shared = set.intersection(*({m["name"] for m in metrics} for metrics in exposed.values()))
    first = next(iter(exposed.values()))
    result = {EVERY_SERVICE: [m for m in first if m["name"] in shared]}
    for service, metrics in exposed.items():
        result[service] = [m for m in metrics if m["name"] not in shared]
    return result


def _exposed_by(package: str) -> list[dict]:
    answer = subprocess.run([sys.executable, __file__, package], capture_output=True, text=True, check=True)
    return json.loads(answer.stdout)


def _exposed_here(package: str) -> list[dict]:
    """What one service's process registers: the runner, the state gauges, and its app module."""
    for module in ("wagw_common.service", "wagw_common.state_metrics", f"{package}.app"):
        importlib.import_module(module)
    families = _families()
    return [{"name": _exposed_name(families[n]), "type": families[n]._type,
             "labels": list(families[n]._labelnames), "help": families[n]._documentation}
            for n in sorted(families)]


def _exposed_name(collector: MetricWrapperBase) -> str:
    return collector._name + ("_total" if collector._type == "counter" else "")


def metrics_reference() -> str:
    lines = []
    for owner, metrics in inventory().items():
        lines += [f"### {'Every service' if owner == EVERY_SERVICE else owner}", "",
                  "| metric | type | labels | meaning |", "|---|---|---|---|"]
        for m in metrics:
            labels = ", ".join(f"`{label}`" for label in m["labels"]) or "—"
            lines.append(f"| `{m['name']}` | {m['type']} | {labels} | {m['help']} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(_exposed_here(sys.argv[1])))
