"""The orchestrator's own variables, on top of the ones every service reads."""

from __future__ import annotations

from dataclasses import dataclass

from wagw_common.settings import CommonSettings, MongoSettings, WorkerUplinkSettings, env_field


@dataclass(frozen=True)
class Settings(WorkerUplinkSettings, MongoSettings, CommonSettings):
    outbox_relay_interval: float = env_field(
        "OUTBOX_RELAY_INTERVAL_SECONDS", "5",
        "How often one replica republishes domain events left in an outbox by a crash", float,
    )
    outbox_stale_after: float = env_field(
        "OUTBOX_STALE_AFTER_SECONDS", "10",
        "Age after which an unpublished outbox event is considered left behind and republished", float,
    )
    session_route_ttl: int = env_field(
        "SESSION_ROUTE_CACHE_TTL_SECONDS", "3600",
        "Lifetime of a cached session-to-worker route in Redis (rebuilt from MongoDB on a miss)", int,
    )

    send_queue_limit: int = env_field(
        "SEND_QUEUE_LIMIT", "100",
        "Messages one session may hold while not connected when a send asks to be queued (`queue: true`)", int,
    )
    send_queue_max_age: float = env_field(
        "SEND_QUEUE_MAX_AGE_SECONDS", "86400",
        "Longest a held send (queued while its session is not connected) waits; then it fails with `expired`",
        float,
    )
    paced_release_interval: float = env_field(
        "PACED_RELEASE_INTERVAL_SECONDS", "0.25",
        "How often one replica hands paced sends whose slot has come to their worker (the most a paced send "
        "waits beyond its slot)", float,
    )
    history_retention_days: float = env_field(
        "HISTORY_RETENTION_DAYS", "0",
        "Days a message is kept in history before a periodic sweep deletes it (0: kept until its session is deleted)",
        float,
    )
    history_sweep_interval: float = env_field(
        "HISTORY_SWEEP_INTERVAL_SECONDS", "3600", "How often one replica deletes messages older than the retention",
        float,
    )


SERVICE = "session-orchestrator"
# This service's own values of the variables every service reads.
DEFAULTS = {"HTTP_PORT": "8081", "MONGODB_DATABASE": "wagw_session_orchestrator"}
