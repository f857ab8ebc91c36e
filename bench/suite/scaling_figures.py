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


def _mean(values: list[float | None], digits: int) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), digits) if known else None


def compare(one: dict, two: dict, one_again: dict | None = None) -> dict:
    """Two replicas beside one: the speedup of the drained rate, and whether the service's CPU per item
    over its replicas stayed the same (work split, not added). With a second round at one replica after
    the round at two, the baseline is the mean of both: a machine whose load drifts over the part, or a
    database that grows with each round, then weighs on both sides alike."""
    ones = [one, *([one_again] if one_again else [])]
    rate_at_one = _mean([r["rate_per_s"] for r in ones], 1)
    ms_at_one = _mean([r["service_ms_per_item"] for r in ones], 3)
    return {"one_replica": one, "two_replicas": two, "one_replica_again": one_again,
            "rate_per_s_at_one": rate_at_one, "service_ms_per_item_at_one": ms_at_one,
            "speedup": ratio(two["rate_per_s"], rate_at_one),
            "service_cpu_per_item_change": ratio(two["service_ms_per_item"], ms_at_one)}
