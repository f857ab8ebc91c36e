"""Pure arithmetic of the benchmark: percentiles, latency summaries, rates, ratios, machine load."""

from __future__ import annotations

import os
import statistics


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0-100) of a non-empty list."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))  # ceil(n * q / 100), at least 1
    return ordered[int(rank) - 1]


def latency_summary(seconds: list[float]) -> dict:
    """p50/p90/p99/max/mean in milliseconds of latencies given in seconds."""
    if not seconds:
        return {"count": 0}
    ms = [v * 1000 for v in seconds]
    return {"count": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p90_ms": round(percentile(ms, 90), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(max(ms), 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def ratio(measured: float | None, baseline: float | None) -> float | None:
    """measured / baseline, or None when either is missing or the baseline is zero."""
    if measured is None or not baseline:
        return None
    return round(measured / baseline, 3)


def load_average() -> dict:
    one, five, fifteen = os.getloadavg()
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2)}


def cpu_per_item(cpu_percent: dict[str, float | None], per_second: float) -> dict:
    """The CPU each process spent per item (a send, a message), from its share of one core over a window
    in which `per_second` items were done; and the rate at which the machine's every core would be busy
    doing that work alone (`ceiling_per_s`), the bound no tuning of concurrency can pass."""
    if not per_second:
        return {"ms_by_process": {}, "total_ms": None, "total_ms_without_database": None, "ceiling_per_s": None}
    by_process = {name: round(10 * share / per_second, 3) for name, share in cpu_percent.items() if share is not None}
    total = round(sum(by_process.values()), 3)
    cores = os.cpu_count() or 1
    # The yardstick leaves the local MongoDB-compatible server out: a stand-in, not what deploys.
    without_database = round(total - by_process.get("mongodb", 0), 3)
    return {"ms_by_process": by_process, "total_ms": total, "total_ms_without_database": without_database,
            "ceiling_per_s": round(cores * 1000 / total, 1) if total else None}
