"""Gauges of shared state, read when scraped: cached for max_age, a failing probe keeps its last values."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, Gauge

from wagw_common.metrics import STATE_REFRESH_FAILURES
from wagw_common.state_metrics import StateMetrics, set_counts

pytestmark = pytest.mark.unit


async def test_probes_run_at_most_once_per_max_age_even_when_scrapes_overlap():
    calls = []

    async def probe():
        calls.append(1)
        await asyncio.sleep(0.01)

    metrics = StateMetrics(max_age=60)
    metrics.add("p", probe)
    await asyncio.gather(*(metrics.refresh() for _ in range(5)))
    await metrics.refresh()
    assert len(calls) == 1
    metrics.max_age = 0
    await metrics.refresh()
    assert len(calls) == 2


async def test_a_failing_probe_is_counted_and_does_not_stop_the_others():
    done = []

    async def broken():
        raise RuntimeError("database down")

    async def fine():
        done.append(1)

    before = STATE_REFRESH_FAILURES.labels("broken")._value.get()
    metrics = StateMetrics(max_age=0)
    metrics.add("broken", broken)
    metrics.add("fine", fine)
    await metrics.refresh()
    assert done == [1]
    assert STATE_REFRESH_FAILURES.labels("broken")._value.get() == before + 1


def test_set_counts_zeroes_known_values_nobody_is_in_any_more():
    gauge = Gauge("test_things", "things by status", ["status"], registry=CollectorRegistry())
    set_counts(gauge, ("a", "b"), {"a": 2, "b": 1})
    set_counts(gauge, ("a", "b"), {"a": 3, "c": 4})
    values = {s.labels["status"]: s.value for s in gauge.collect()[0].samples}
    assert values == {"a": 3, "b": 0, "c": 4}
