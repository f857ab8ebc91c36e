"""docs/metrics.md's reference part: every Prometheus metric each service exposes, read from the
metric registry after importing the shared library and then each service's app module (a metric
first registered by a service's import belongs to that service; the shared ones to every service)."""

from __future__ import annotations

import importlib

from prometheus_client import REGISTRY
from wagw_common.services import SERVICES

EVERY_SERVICE = "every service"


def _collectors() -> dict[str, object]:
    return {name: collector for collector, names in REGISTRY._collector_to_names.items() for name in names}


def _families() -> dict[str, object]:
    """Our metrics by family name (a counter's name without `_total`)."""
    found = {}
    for collector in set(_collectors().values()):
        name = getattr(collector, "_name", None)
        if name and name.startswith("wagw_"):
            found[name] = collector
    return found


def inventory() -> dict[str, list[dict]]:
    """{owner: [{name, type, labels, help}]}, owner being EVERY_SERVICE or a service name."""
    importlib.import_module("wagw_common.service")
    importlib.import_module("wagw_common.state_metrics")
    seen = set(_families())
    owners = {EVERY_SERVICE: sorted(seen)}
    for service, package in SERVICES.items():
        importlib.import_module(f"{package}.app")
        now = set(_families())
        owners[service] = sorted(now - seen)
        seen = now
    families = _families()
    result = {}
    for owner, names in owners.items():
        result[owner] = [{"name": _exposed_name(families[n]), "type": families[n]._type,
                          "labels": list(families[n]._labelnames), "help": families[n]._documentation}
                         for n in names]
    return result


def _exposed_name(collector) -> str:
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
