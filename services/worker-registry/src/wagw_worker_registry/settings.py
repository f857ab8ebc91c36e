from __future__ import annotations

from dataclasses import dataclass

from wagw_common.settings import CommonSettings, MongoSettings, env_field


@dataclass(frozen=True)
class Settings(MongoSettings, CommonSettings):
    offline_after: float = env_field(
        "WORKER_OFFLINE_AFTER_SECONDS", "30",
        "A worker whose last heartbeat is older than this is declared offline (workers beat every 10 s by default)",
        float,
    )
    monitor_interval: float = env_field(
        "WORKER_MONITOR_INTERVAL_SECONDS", "5",
        "How often the registry looks for silent workers and relays events left in its outbox", float,
    )
    assignment_grace: float = env_field(
        "WORKER_ASSIGNMENT_GRACE_SECONDS", "60",
        "How long a session chosen for a worker counts against its capacity before a heartbeat confirms it", float,
    )


SERVICE = "worker-registry"
# This service's own values of the variables every service reads.
DEFAULTS = {"HTTP_PORT": "8082", "MONGODB_DATABASE": "wagw_worker_registry"}
