from __future__ import annotations

from dataclasses import dataclass

from wagw_common.settings import CommonSettings, MongoSettings, WorkerUplinkSettings, env_field


def _missed_heartbeats(raw: str) -> int:
    # A worker notices a stall of more than one interval (and then bounces stale sends); with fewer
    # than two missed beats it could be declared offline for a stall it does not notice.
    value = int(raw)
    if value < 2:
        raise ValueError("must be at least 2")
    return value


@dataclass(frozen=True)
class Settings(WorkerUplinkSettings, MongoSettings, CommonSettings):
    missed_heartbeats: int = env_field(
        "WORKER_MISSED_HEARTBEATS", "3",
        "Heartbeats a worker may miss (at the interval it registered with) before it is declared offline; "
        "at least 2",
        _missed_heartbeats,
    )
    monitor_interval: float = env_field(
        "WORKER_MONITOR_INTERVAL_SECONDS", "5",
        "How often the registry looks for silent workers and relays events left in its outbox", float,
    )
    reconnect_allowance: float = env_field(
        "WORKER_RECONNECT_ALLOWANCE_SECONDS", "10",
        "After the registry's own broker connection comes back (a broker restart), how long beyond one heartbeat "
        "window it waits for workers to reconnect before it declares a silent one offline", float,
    )
    assignment_grace: float = env_field(
        "WORKER_ASSIGNMENT_GRACE_SECONDS", "60",
        "How long a session chosen for a worker counts against its capacity before a heartbeat confirms it", float,
    )


SERVICE = "worker-registry"
# This service's own values of the variables every service reads.
DEFAULTS = {"HTTP_PORT": "8082", "MONGODB_DATABASE": "wagw_worker_registry"}
