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
