"""The gateway's settings, on top of the ones every service reads."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from wagw_common.object_store.settings import ObjectStoreSettings
from wagw_common.settings import CommonSettings, MongoSettings, TokenSettings, WorkerUplinkSettings, env_field

from .tiers import parse_tier_rates


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _emails(raw: str) -> frozenset[str]:
    return frozenset(e.strip().lower() for e in raw.split(",") if e.strip())


def _http_url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"} or parts.query \
            or parts.fragment:
        raise ValueError("must be an http(s) origin such as http://127.0.0.1:8084 (no path)")
    return raw.strip().rstrip("/")


@dataclass(frozen=True)
class Settings(WorkerUplinkSettings, TokenSettings, MongoSettings, CommonSettings, ObjectStoreSettings):
    access_token_ttl: int = env_field(
        "ACCESS_TOKEN_TTL_SECONDS", "900", "Lifetime of the access tokens (JWT) the gateway issues at login",
        _positive_int
    )
    media_url_ttl: int = env_field(
        "MEDIA_URL_TTL_SECONDS", "3600", "Lifetime of a received file's download link (GET /messages/{id}/media-link)",
        _positive_int,
    )
    max_body_bytes: int = env_field(
        "MAX_BODY_BYTES", "65536", "Largest request body the gateway reads; a larger one is answered 413", _positive_int
    )
    admin_emails: frozenset = env_field(
        "GATEWAY_ADMIN_EMAILS", "",
        "Comma-separated emails that get the admin role when they register (bootstrap only: set before they sign up)",
        _emails,
    )
    refresh_token_ttl: int = env_field(
        "REFRESH_TOKEN_TTL_SECONDS", "2592000",
        "Lifetime of a refresh token; each refresh replaces it with a new one for the same lifetime", _positive_int,
    )
    rate_limit_auth: int = env_field(
        "RATE_LIMIT_AUTH_PER_MINUTE", "30",
        "Requests one client address may make to the /auth routes per minute (then 429)", _positive_int,
    )
    rate_limit_user: int = env_field(
        "RATE_LIMIT_USER_PER_MINUTE", "600", "Requests one user may make with access tokens per minute", _positive_int,
    )
    rate_limit_api_key: int = env_field(
        "RATE_LIMIT_API_KEY_PER_MINUTE", "1200", "Requests one API key may make per minute", _positive_int,
    )
    tier_send_rates: dict = env_field(
        "TIER_SEND_RATES_PER_MINUTE", "BASIC=60,PRO=600,MAX=3000",
        "Messages an account may send per minute, by tier (all its keys and sessions together)", parse_tier_rates,
    )
    login_max_failures: int = env_field(
        "LOGIN_MAX_FAILURES", "10",
        "Failed log-ins for one email before further attempts are refused for LOGIN_LOCKOUT_SECONDS", _positive_int,
    )
    login_lockout: int = env_field(
        "LOGIN_LOCKOUT_SECONDS", "900", "Window over which failed log-ins are counted, and how long a lock-out lasts",
        _positive_int,
    )
    trusted_proxy_hops: int = env_field(
        "TRUSTED_PROXY_HOPS", "0",
        "Reverse proxies in front of the gateway; with N > 0 the client address is the Nth entry from the right "
        "of X-Forwarded-For (0: the TCP peer)", lambda raw: max(0, int(raw)),
    )
    dashboard_realtime_url: str = env_field(
        "DASHBOARD_REALTIME_URL", "http://127.0.0.1:8084",
        "Socket.IO address of the realtime service, as the dashboard's browsers reach it", _http_url,
    )
    worker_query_timeout: float = env_field(
        "WORKER_QUERY_TIMEOUT_SECONDS", "8",
        "How long a question to a session's worker (profiles, groups, number checks) waits; then 504",
        lambda raw: min(60.0, max(0.5, float(raw))),
    )


SERVICE = "gateway"
# This service's own values of the variables every service reads.
DEFAULTS = {"HTTP_PORT": "8080", "MONGODB_DATABASE": "wagw_gateway"}
