"""The realtime service's settings, on top of the ones every service reads."""

from __future__ import annotations

from dataclasses import dataclass

from wagw_common.settings import CommonSettings, TokenSettings, env_field


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


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
    max_connections_per_user: int = env_field(
        "REALTIME_MAX_CONNECTIONS_PER_USER", "20",
        "Socket.IO connections one user (or one API key) may hold at once, across every replica", _positive_int,
    )
    subscribe_rate_per_minute: int = env_field(
        "REALTIME_SUBSCRIBE_RATE_PER_MINUTE", "60",
        "Requests (subscribe, unsubscribe, reauth) one connection may send a minute, in bursts of up to 10",
        _positive_int,
    )
    max_subscriptions: int = env_field(
        "REALTIME_MAX_SUBSCRIPTIONS", "50", "Sessions one connection may be subscribed to at once", _positive_int,
    )
    max_payload_bytes: int = env_field(
        "REALTIME_MAX_PAYLOAD_BYTES", "4096",
        "Largest client request payload (JSON) answered normally; larger ones get an error event, and a frame "
        "over 16 times this closes the connection", _positive_int,
    )
    token_warning_seconds: int = env_field(
        "REALTIME_TOKEN_WARNING_SECONDS", "60",
        "How long before its access token expires a connection is sent `auth.expiring`", _positive_int,
    )
    api_key_recheck_seconds: int = env_field(
        "REALTIME_API_KEY_RECHECK_SECONDS", "300",
        "How often an API-key connection's key is checked again (a revoked key is disconnected)", _positive_int,
    )


SERVICE = "realtime"
# This service's own values of the variables every service reads.
DEFAULTS = {"HTTP_PORT": "8084"}
