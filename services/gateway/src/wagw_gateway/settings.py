"""The gateway's settings, on top of the ones every service reads."""

from __future__ import annotations

from dataclasses import dataclass

from wagw_common.settings import CommonSettings, MongoSettings, TokenSettings, env_field


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _emails(raw: str) -> frozenset[str]:
    return frozenset(e.strip().lower() for e in raw.split(",") if e.strip())


@dataclass(frozen=True)
class Settings(TokenSettings, MongoSettings, CommonSettings):
    access_token_ttl: int = env_field(
        "ACCESS_TOKEN_TTL_SECONDS", "900", "Lifetime of the access tokens (JWT) the gateway issues at login",
        _positive_int
    )
    max_body_bytes: int = env_field(
        "MAX_BODY_BYTES", "65536", "Largest request body the gateway reads; a larger one is answered 413", _positive_int
    )
    admin_emails: frozenset = env_field(
        "GATEWAY_ADMIN_EMAILS", "",
        "Comma-separated emails that get the admin role when they register (bootstrap only: set before they sign up)",
        _emails,
    )


SERVICE = "gateway"
# This service's own values of the variables every service reads.
DEFAULTS = {"HTTP_PORT": "8080", "MONGODB_DATABASE": "wagw_gateway"}
