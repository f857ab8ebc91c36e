"""Metrics every service exposes. Names follow Prometheus conventions; each process has its own registry."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("wagw_http_requests_total", "HTTP requests handled", ["route", "method", "status"])
HTTP_LATENCY = Histogram("wagw_http_request_duration_seconds", "HTTP request latency", ["route", "method"])
MESSAGES_CONSUMED = Counter(
    "wagw_broker_messages_consumed_total",
    "Broker messages handled, by queue and outcome (ack, rejected, retry, dead_lettered)", ["queue", "outcome"]
)
HANDLER_LATENCY = Histogram("wagw_broker_handler_duration_seconds", "Time spent handling one message", ["queue"])
MESSAGES_PUBLISHED = Counter(
    "wagw_broker_messages_published_total", "Broker publishes, by exchange and outcome (confirmed, failed)",
    ["exchange", "outcome"]
)
PUBLISH_LATENCY = Histogram("wagw_broker_publish_duration_seconds", "Publish latency including the broker's confirm",
                            ["exchange"])
RPC_CALLS = Counter("wagw_rpc_calls_total", "Request/reply calls made, by type and outcome", ["type", "outcome"])
DEPENDENCY_UP = Gauge("wagw_dependency_up", "1 when a dependency answered the last readiness check", ["dependency"])
# Queue depths, read from the broker (a passive declare) when /metrics is scraped, cached a few seconds.
# Every replica of a service reports its service's queues: aggregate with max(), not sum().
QUEUE_MESSAGES = Gauge("wagw_queue_messages", "Messages ready in a queue this service consumes", ["queue"])
DEAD_LETTER_MESSAGES = Gauge("wagw_dead_letter_messages",
                             "Messages in the dead-letter queue of a queue this service consumes",
                             ["queue"])
STATE_REFRESH_FAILURES = Counter("wagw_state_metrics_refresh_failures_total",
                                 "Failed reads of the gauges computed from the broker or the database", ["probe"])


@lru_cache(maxsize=None)
def labelled(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, looked up once: every message counts itself several times, and the
    client's lookup (a lock and a dictionary) cost more than the count. The label sets are as few as
    the metric's own (queues, exchanges, outcomes), which the client keeps for ever anyway."""
    return metric.labels(*labels)
