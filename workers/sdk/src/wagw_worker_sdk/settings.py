"""The settings every worker process has (its id, capacity, heartbeat, broker, logs) and their parsers,
shared by the simulator and the WhatsApp worker so that both refuse the same bad values the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from marshmallow import ValidationError
from wagw_common.contracts import fields
from wagw_common.settings import env_field

_WORKER_ID_FIELD = fields.worker_id()


def parse_worker_id(raw: str) -> str:
    """Normalised, then held to the contract's rule, so the broker never sees an id it would refuse."""
    normalized = fields.normalize_worker_id(raw)
    try:
        return _WORKER_ID_FIELD.deserialize(normalized)
    except ValidationError as exc:
        raise ValueError(f"not a usable worker id {normalized!r}: {exc.messages}") from None


def bounded(parse: Callable[[str], float], low: float, high: float | None = None) -> Callable[[str], float]:
    def check(raw: str):
        value = parse(raw)
        if value < low or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high}" if high is not None else f"must be at least {low}")
        return value

    return check


@dataclass(frozen=True)
class WorkerSettings:
    """What every worker process reads; a worker's own settings extend it (and may give WORKER_ID
    another default, listed in its module's DEFAULTS for the generated configuration table)."""

    worker_id: str = env_field(
        "WORKER_ID", "worker-1", "This worker's id (normalised: lower case, hyphens)", parse_worker_id
    )
    capacity: int = env_field(
        "WORKER_CAPACITY", "50", "Sessions this worker can hold at once", bounded(int, 1, 100_000)
    )
    heartbeat_interval: float = env_field(
        "HEARTBEAT_INTERVAL_SECONDS", "10", "Seconds between a worker's heartbeats", bounded(float, 0.1)
    )
    amqp_url: str = env_field(
        "AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ connection URL (vhost included)"
    )
    startup_timeout: float = env_field(
        "STARTUP_TIMEOUT_SECONDS", "60", "How long a service retries its broker, database and Redis at start-up", float
    )
    log_level: str = env_field("LOG_LEVEL", "info", "debug, info, warning or error")
    log_format: str = env_field("LOG_FORMAT", "json", "json (one object a line) or console (for people)")

