"""The realtime service's settings, on top of the ones every service reads."""

from __future__ import annotations

from dataclasses import dataclass

from wagw_common.settings import CommonSettings, TokenSettings, env_field


def _origins(raw: str) -> str | list[str]:
    raw = raw.strip()
    if raw == "*":
        return "*"
    origins = [o.strip() for o in raw.split(",") if o.strip()]
    if not origins:
        raise ValueError("give '*' or a comma-separated list of origins")
    return origins


@dataclass(frozen=True)
class Settings(TokenSettings, CommonSettings):
    cors_origins: str | list[str] = env_field(
        "REALTIME_CORS_ORIGINS", "*", "Origins allowed to open a Socket.IO connection: '*' or a comma-separated list",
        _origins,
    )
    socketio_channel: str = env_field(
        "REALTIME_SOCKETIO_CHANNEL", "wagw-realtime-socketio",
        "RabbitMQ fanout exchange the realtime replicas share rooms through (the same for every replica)",
    )


SERVICE = "realtime"
# This service's own values of the variables every service reads.
DEFAULTS = {"HTTP_PORT": "8084"}
