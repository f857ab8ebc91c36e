"""The simulator's settings. It needs no database, Redis or JWT, so it declares only what it uses;
shared variables (AMQP_URL, HTTP_HOST, LOG_*, STARTUP_TIMEOUT_SECONDS) keep their platform-wide names."""

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


def _bounded(parse: Callable[[str], float], low: float, high: float | None = None) -> Callable[[str], float]:
    def check(raw: str):
        value = parse(raw)
        if value < low or (high is not None and value > high):
            raise ValueError(f"must be between {low} and {high}" if high is not None else f"must be at least {low}")
        return value

    return check


@dataclass(frozen=True)
class Settings:
    worker_id: str = env_field(
        "WORKER_ID", "sim-worker-1", "This worker's id (normalised: lower case, hyphens)", parse_worker_id
    )
    capacity: int = env_field(
        "WORKER_CAPACITY", "50", "Sessions this worker can hold at once", _bounded(int, 1, 100_000)
    )
    heartbeat_interval: float = env_field(
        "HEARTBEAT_INTERVAL_SECONDS", "10", "Seconds between a worker's heartbeats", _bounded(float, 0.1)
    )
    host: str = env_field("HTTP_HOST", "127.0.0.1", "Address the service's HTTP server binds to")
    control_port: int = env_field(
        "SIMULATOR_CONTROL_PORT", "8090", "Port of the simulator's control API (scan a QR, inject messages)",
        _bounded(int, 0, 65535),
    )
    auto_scan: float = env_field(
        "SIMULATOR_AUTO_SCAN_SECONDS", "0",
        "Scan each QR by itself after this many seconds (0: only through the control API)",
        _bounded(float, 0),
    )
    status_delay: float = env_field(
        "SIMULATOR_STATUS_DELAY_SECONDS", "0.2", "Pause between a simulated message's sent, delivered and read",
        _bounded(float, 0),
    )
    qr_refresh: float = env_field(
        "SIMULATOR_QR_REFRESH_SECONDS", "20", "How often an unscanned session shows a new QR", _bounded(float, 0.05)
    )
    qr_ttl: float = env_field("SIMULATOR_QR_TTL_SECONDS", "60", "Validity announced with each QR", _bounded(float, 1))
    qr_max_refreshes: int = env_field(
        "SIMULATOR_QR_MAX_REFRESHES", "5", "New QRs shown before an unscanned session gives up (qr timeout)",
        _bounded(int, 0),
    )
    amqp_url: str = env_field(
        "AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/", "RabbitMQ connection URL (vhost included)"
    )
    startup_timeout: float = env_field(
        "STARTUP_TIMEOUT_SECONDS", "60", "How long a service retries its broker, database and Redis at start-up", float
    )
    log_level: str = env_field("LOG_LEVEL", "info", "debug, info, warning or error")
    log_format: str = env_field("LOG_FORMAT", "json", "json (one object a line) or console (for people)")
