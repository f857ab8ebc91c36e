"""Every service's /metrics, scraped around a walking skeleton: each metric docs/metrics.md lists for the
service is exposed, and the ones the skeleton exercises moved (counters up, state gauges counted)."""

from __future__ import annotations

import aiohttp
import pytest

from harness.flows import wait_until, walking_skeleton
from harness.scrape import documented_metrics, scrape, total

pytestmark = pytest.mark.e2e

SERVICES = ("gateway", "session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime")
DONE = ("sent", "delivered", "read")

# What a walking skeleton must move, per service: (sample, labels) whose total grows.
MOVED = {
    "gateway": [
        ("wagw_http_requests_total", {"route": "/api/v1/send", "method": "POST", "status": "202"}),
        ("wagw_http_request_duration_seconds_count", {"route": "/api/v1/send", "method": "POST"}),
        ("wagw_rpc_calls_total", {"outcome": "ok"}),
        ("wagw_broker_messages_published_total", {"outcome": "confirmed"}),
        ("wagw_broker_publish_duration_seconds_count", {}),
    ],
    "session-orchestrator": [
        ("wagw_broker_messages_consumed_total", {"outcome": "ack"}),
        ("wagw_broker_handler_duration_seconds_count", {}),
        ("wagw_broker_messages_published_total", {"outcome": "confirmed"}),
        ("wagw_broker_publish_duration_seconds_count", {}),
    ],
    "worker-registry": [
        ("wagw_broker_messages_consumed_total", {"outcome": "ack"}),
        ("wagw_broker_handler_duration_seconds_count", {}),
    ],
    "webhook-dispatcher": [
        ("wagw_broker_messages_consumed_total", {"outcome": "ack"}),
        ("wagw_webhook_attempts_total", {"outcome": "success"}),
        ("wagw_webhook_attempt_duration_seconds_count", {}),
        ("wagw_http_requests_total", {}),
    ],
    "realtime": [
        ("wagw_realtime_connects_total", {"outcome": "ok"}),
        ("wagw_realtime_pushes_total", {}),
        ("wagw_broker_messages_consumed_total", {"outcome": "ack"}),
        ("wagw_realtime_push_lag_seconds_count", {}),
    ],
}

# Shared-state gauges that must count what the skeleton left behind (read from the broker or the database).
COUNTED = {
    "session-orchestrator": [("wagw_sessions", {"status": "CONNECTED"}), ("wagw_messages", {"status": DONE})],
    "worker-registry": [("wagw_workers", {"state": "online"}), ("wagw_worker_free_slots", {})],
    "webhook-dispatcher": [("wagw_webhook_deliveries", {"status": "succeeded"}),
                           ("wagw_webhook_endpoints", {"state": "enabled"})],
}


def test_docs_list_a_section_per_service():
    sections = documented_metrics()
    assert set(sections) == {"Every service", *SERVICES}
    assert {"wagw_queue_messages", "wagw_dead_letter_messages", "wagw_http_requests_total",
            "wagw_broker_messages_consumed_total"} <= sections["Every service"]


async def test_every_listed_metric_is_exposed_and_the_skeleton_moves_them(platform):
    listed = documented_metrics()
    async with aiohttp.ClientSession() as http:
        before = {name: (await scrape(http, platform.url(name)))[1] for name in SERVICES}
        await walking_skeleton(platform)

        for name in SERVICES:
            families, after = await scrape(http, platform.url(name))
            expected = listed["Every service"] | listed[name]
            assert not expected - families, f"{name} does not expose {sorted(expected - families)}"

            async def moved(name=name):
                _, now = await scrape(http, platform.url(name))
                return [(sample, labels) for sample, labels in MOVED[name]
                        if total(now, sample, **labels) <= total(before[name], sample, **labels)] or None

            # Deliveries and pushes finish a moment after the skeleton saw the result: poll briefly.
            still = await _wait_for_none(moved)
            assert not still, f"{name}: did not move: {still}"

            async def counted(name=name):
                _, now = await scrape(http, platform.url(name))
                missing = [(sample, labels) for sample, labels in COUNTED.get(name, [])
                           if total(now, sample, **labels) < 1]
                # Every queue the service consumes has its depth and its dead-letter depth read from the broker.
                queues = {dict(k).get("queue") for k in now.get("wagw_broker_handler_duration_seconds_count", {})}
                depths = {dict(k)["queue"] for k in now.get("wagw_queue_messages", {})}
                dead = {dict(k)["queue"] for k in now.get("wagw_dead_letter_messages", {})}
                if not queues <= depths or not queues <= dead:
                    missing.append(("queue depths", sorted(queues - (depths & dead))))
                return missing or None

            still = await _wait_for_none(counted)
            assert not still, f"{name}: state gauges not counted: {still}"


async def _wait_for_none(probe, timeout: float = 15.0):
    """Poll until `probe()` returns None (done); the last non-None answer if it never does."""
    last = None

    async def done():
        nonlocal last
        last = await probe()
        return last is None

    try:
        await wait_until(done, timeout=timeout, interval=1.0)
        return None
    except TimeoutError:
        return last
