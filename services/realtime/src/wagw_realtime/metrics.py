"""The realtime service's own metrics, beside the ones every service exposes."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONNECTIONS = Gauge("wagw_realtime_connections", "Socket.IO clients connected to this replica", ["kind"])
CONNECTS = Counter("wagw_realtime_connects_total", "Connection attempts, by outcome (ok or the refusal code)",
                   ["outcome"])
DISCONNECTS = Counter("wagw_realtime_disconnects_total", "Disconnections, by reason", ["reason"])
PUSHES = Counter("wagw_realtime_pushes_total", "Events pushed to rooms, by Socket.IO event", ["event"])
PUSH_LAG = Histogram("wagw_realtime_push_lag_seconds",
                     "From a domain event's time to its emission by this replica",
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
REQUESTS = Counter("wagw_realtime_client_requests_total", "Client requests, by event and outcome (ok or error code)",
                   ["event", "outcome"])
