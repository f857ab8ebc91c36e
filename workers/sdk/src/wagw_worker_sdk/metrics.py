"""The metrics of a worker process, served on its `/metrics` beside the broker client's own
(`wagw_broker_*`: publishes by exchange, messages consumed from its command queue by outcome).

The gauges describe the worker at the moment of the scrape (`observe`), not at its last heartbeat."""

from __future__ import annotations

import time
from collections import Counter as Tally
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge

if TYPE_CHECKING:
    from .worker import Worker

COMMANDS = Counter(
    "wagw_worker_commands_total",
    "Commands a worker handled, by type and outcome (handled, bounced, unsupported, failed)", ["type", "outcome"],
)
PUBLISHES = Counter(
    "wagw_worker_publishes_total", "What a worker published to the platform, by type and outcome (confirmed, failed)",
    ["type", "outcome"],
)
SESSIONS = Gauge("wagw_worker_sessions", "Sessions a worker holds, by status", ["status"])
HEARTBEAT_AGE = Gauge(
    "wagw_worker_heartbeat_age_seconds",
    "Seconds since the worker's last confirmed heartbeat (since its start, before the first one)",
)
REGISTERED = Gauge("wagw_worker_registered", "1 while the worker is registered with the platform")


def observe(worker: "Worker") -> None:
    """Set the gauges from what the worker holds now (called when /metrics is scraped)."""
    held = Tally(session["status"] for session in worker.held_sessions())
    SESSIONS.clear()
    for status, count in held.items():
        SESSIONS.labels(status).set(count)
    HEARTBEAT_AGE.set(round(time.monotonic() - worker.last_beat_at, 3))
    REGISTERED.set(1 if worker.registered else 0)
