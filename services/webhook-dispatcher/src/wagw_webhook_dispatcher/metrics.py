"""The dispatcher's own metrics, on top of the ones every service exposes: every one declared here."""

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter("wagw_webhook_attempts_total",
                   "Delivery attempts, by what they decided (success, retry, exhausted, gone)", ["outcome"])
ATTEMPT_LATENCY = Histogram("wagw_webhook_attempt_duration_seconds", "Time one delivery attempt took",
                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DEFERRED = Counter("wagw_webhook_deferred_total", "Attempts put off because their endpoint had all its slots busy")
DISABLED = Counter("wagw_webhook_endpoints_disabled_total", "Endpoints disabled, by reason", ["reason"])
RECOVERED = Counter("wagw_webhook_stalled_requeued_total", "Pending deliveries whose job was lost, queued again")
IN_FLIGHT = Gauge("wagw_webhook_attempts_in_flight", "Delivery attempts running in this replica")
WAITING = Gauge("wagw_webhook_attempts_waiting", "Delivery attempts in this replica waiting for their endpoint's turn")
# Read from the database when /metrics is scraped (gauges.py): right whichever replica answers.
DELIVERIES = Gauge("wagw_webhook_deliveries", "Deliveries kept in the delivery log, by status "
                   "(pending, succeeded, failed)", ["status"])
ENDPOINTS = Gauge("wagw_webhook_endpoints", "Webhook endpoints by state (enabled, disabled)", ["state"])
