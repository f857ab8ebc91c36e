"""The simulator's settings, on top of every worker's (`wagw_worker_sdk.settings.WorkerSettings`). It
needs no database, Redis or JWT, so it declares only what it uses; shared variables (AMQP_URL,
HTTP_HOST, LOG_*, STARTUP_TIMEOUT_SECONDS) keep their platform-wide names."""

from __future__ import annotations

from dataclasses import dataclass

from wagw_common.object_store.settings import ObjectStoreSettings
from wagw_common.settings import env_field
from wagw_worker_sdk.settings import WorkerSettings, parse_worker_id
from wagw_worker_sdk.settings import bounded as _bounded

DEFAULTS = {"WORKER_ID": "sim-worker-1"}


@dataclass(frozen=True)
class Settings(WorkerSettings, ObjectStoreSettings):
    worker_id: str = env_field(
        "WORKER_ID", "sim-worker-1", "This worker's id (normalised: lower case, hyphens)", parse_worker_id
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
