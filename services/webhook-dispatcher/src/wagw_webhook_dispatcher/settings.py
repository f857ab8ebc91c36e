"""The dispatcher's settings, on top of the ones every service reads."""

from __future__ import annotations

from dataclasses import dataclass

from wagw_common.settings import CommonSettings, MongoSettings, env_field

from .durations import parse_schedule
from .ssrf import DestinationPolicy


def _fraction(raw: str) -> float:
    value = float(raw)
    if not 0 <= value < 1:
        raise ValueError("must be at least 0 and below 1")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _non_empty_schedule(raw: str) -> tuple[float, ...]:
    schedule = parse_schedule(raw)
    if not schedule:
        raise ValueError("needs at least one pause")
    return schedule


@dataclass(frozen=True)
class Settings(MongoSettings, CommonSettings):
    webhook_timeout: float = env_field(
        "WEBHOOK_TIMEOUT_SECONDS", "10", "How long one delivery attempt waits for the customer's endpoint", float
    )
    allowed_destinations: DestinationPolicy = env_field(
        "WEBHOOK_ALLOWED_DESTINATIONS", "",
        "Comma-separated networks (CIDR) and host names (`*.corp.example` for subdomains) that webhook URLs may "
        "reach although they are not public (loopback, private, link-local); empty: public addresses only",
        DestinationPolicy.parse,
    )
    delivery_concurrency: int = env_field(
        "WEBHOOK_DELIVERY_CONCURRENCY", "32", "Delivery attempts one replica runs at once", _positive_int
    )
    endpoint_concurrency: int = env_field(
        "WEBHOOK_ENDPOINT_CONCURRENCY", "4",
        "Delivery attempts one replica runs at once to the same endpoint; more wait for a slot in the replica "
        "when their turn is expected within a second, else are put off (WEBHOOK_BUSY_RETRY_SCHEDULE)", _positive_int
    )
    retry_schedule: tuple[float, ...] = env_field(
        "WEBHOOK_RETRY_SCHEDULE", "5s,5m,30m,2h,5h,10h,14h,20h,24h",
        "Pauses before each retry of a failed delivery (the first attempt is immediate), e.g. 5s,5m,2h,1d",
        parse_schedule,
    )
    retry_jitter: float = env_field(
        "WEBHOOK_RETRY_JITTER", "0.1", "Up to this fraction of each pause is taken off at random, spreading retries",
        _fraction,
    )
    busy_schedule: tuple[float, ...] = env_field(
        "WEBHOOK_BUSY_RETRY_SCHEDULE", "1s,5s,30s",
        "Pauses of a delivery put off because its endpoint already has WEBHOOK_ENDPOINT_CONCURRENCY attempts "
        "running and its turn is not expected soon (the last one repeats)", _non_empty_schedule,
    )
    disable_after: float = env_field(
        "WEBHOOK_DISABLE_AFTER_SECONDS", "432000",
        "An endpoint failing every attempt for this long is disabled (432000: 5 days)", float
    )
    secret_overlap: float = env_field(
        "WEBHOOK_SECRET_OVERLAP_SECONDS", "86400",
        "After a secret rotation, how long the old secret keeps signing next to the new one, unless the request says",
        float,
    )
    delivery_retention_days: float = env_field(
        "WEBHOOK_DELIVERY_RETENTION_DAYS", "30", "How long settled deliveries and their attempts are kept", float
    )
    sweep_interval: float = env_field(
        "WEBHOOK_SWEEP_INTERVAL_SECONDS", "30",
        "How often one replica republishes events left in an outbox and restarts deliveries whose job was lost", float
    )
    stalled_after: float = env_field(
        "WEBHOOK_STALLED_AFTER_SECONDS", "600",
        "A pending delivery this far past its planned attempt is considered to have lost its job, and re-queued",
        float,
    )


SERVICE = "webhook-dispatcher"
# This service's own values of the variables every service reads.
DEFAULTS = {"HTTP_PORT": "8083", "MONGODB_DATABASE": "wagw_webhook_dispatcher"}
