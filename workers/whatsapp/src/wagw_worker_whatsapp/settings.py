"""The WhatsApp worker's settings, on top of every worker's (`wagw_worker_sdk.settings.WorkerSettings`:
its id, capacity, heartbeat, AMQP_URL, LOG_*, STARTUP_TIMEOUT_SECONDS) and the media store's, where it
stores received files (`ObjectStoreSettings`)."""

from __future__ import annotations

from dataclasses import dataclass

from wagw_common.object_store.settings import ObjectStoreSettings
from wagw_common.settings import bool_from_env, env_field
from wagw_worker_sdk.settings import WorkerSettings, bounded, parse_worker_id

DEFAULTS = {"WORKER_ID": "wa-worker-1"}
CLIENTS = ("neonize", "whatsmeow", "fake")


def parse_client(raw: str) -> str:
    if raw not in CLIENTS:
        raise ValueError(f"must be one of {', '.join(CLIENTS)}")
    return raw


@dataclass(frozen=True)
class Settings(WorkerSettings, ObjectStoreSettings):
    worker_id: str = env_field(
        "WORKER_ID", "wa-worker-1", "This worker's id (normalised: lower case, hyphens)", parse_worker_id
    )
    client: str = env_field(
        "WHATSAPP_CLIENT", "neonize",
        "neonize (real WhatsApp through whatsmeow's Python bindings), whatsmeow (real WhatsApp through the "
        "whatsmeow bridge program: sends with ids WhatsApp itself keeps) or fake (no phone: tests and demos)",
        parse_client,
    )
    store: str = env_field(
        "WHATSAPP_STORE", ".local/data/whatsapp/credentials.db",
        "Device credential store: a PostgreSQL URL shared by every worker, or a SQLite file for a single "
        "worker (with the fake client, a directory)",
    )
    bridge_program: str = env_field(
        "WHATSAPP_BRIDGE_PROGRAM", ".local/bin/wagw-whatsmeow",
        "whatsmeow client only: the bridge program (tools/whatsmeow-bridge/build.sh builds it)",
    )
    host: str = env_field("HTTP_HOST", "127.0.0.1", "Address the service's HTTP server binds to")
    http_port: int = env_field(
        "WHATSAPP_HTTP_PORT", "8091",
        "Port of the worker's health and metrics endpoints (and, with the fake client, its phone)",
        bounded(int, 0, 65535),
    )
    fake_auto_scan: bool = env_field(
        "WHATSAPP_FAKE_AUTO_SCAN", "false", "Fake client only: link each new session at once, as if scanned",
        bool_from_env,
    )
