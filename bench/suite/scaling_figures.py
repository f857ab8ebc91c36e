"""The arithmetic of the scaling part: one round's figures (items drained, rate, CPU per item of each
process and of the measured service's replicas together) and how the round at two replicas compares
with the round at one."""

from __future__ import annotations

from .goals import summed
from .stats import cpu_per_item, rate, ratio

# A process at this share of one core or more had no more to give: it is what bound the round.
SATURATED_PERCENT = 85.0


def _of_service(service: str, percent: dict[str, float | None]) -> dict[str, float]:
    return {name: share for name, share in percent.items()
            if share is not None and (name == service or name.startswith(service + "-"))}


def round_figures(service: str, replicas: int, items: int, seconds: float, cpu_percent: dict[str, float | None],
                  waiting_percent: dict[str, float | None] | None = None) -> dict:
    """A round in which `replicas` replicas of `service` did `items` items in `seconds`; `waiting_percent`
    is how long each process was runnable but kept off the cores (% of the window)."""
    per_second = rate(items, seconds)
    per_item = cpu_per_item(cpu_percent, per_second)
    shares = {name: share for name, share in cpu_percent.items() if share is not None}
    busiest = max(shares, key=shares.__getitem__) if shares else None
    return {"replicas": replicas, "items": items, "seconds": round(seconds, 2), "rate_per_s": per_second,
            "cpu_percent_of_one_core": cpu_percent, "waiting_for_a_core_percent": waiting_percent or {},
            "cpu_per_item": per_item, "service_ms_per_item": summed(per_item["ms_by_process"], service),
            "service_percent_per_replica": _of_service(service, cpu_percent),
            "service_waiting_percent_per_replica": _of_service(service, waiting_percent or {}),
            "busiest": busiest, "saturated": sorted(n for n, s in shares.items() if s >= SATURATED_PERCENT)}


def compare(one: dict, two: dict) -> dict:
    """Two replicas beside one: the speedup of the drained rate, and whether each replica's CPU per item
    stayed the same (work split, not added)."""
    return {"one_replica": one, "two_replicas": two,
            "speedup": ratio(two["rate_per_s"], one["rate_per_s"]),
            "service_cpu_per_item_change": ratio(two["service_ms_per_item"], one["service_ms_per_item"])}
