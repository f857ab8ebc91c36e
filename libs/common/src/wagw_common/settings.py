"""Settings come only from the environment. Every variable is declared once here or in a
service's settings module, so the README's configuration table can be generated from the code."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = str


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


def env_field(name: str, default: str, help: str, parse: Callable[[str], Any] = str) -> Any:
    """A dataclass field read from the environment variable `name`."""
    return field(metadata={"variable": Variable(name, default, help, parse)})


def variables_of(settings_cls: type) -> list[Variable]:
    return [f.metadata["variable"] for f in fields(settings_cls) if "variable" in f.metadata]


class SettingsError(ValueError):
    pass


def load(settings_cls: type, environ: Mapping[str, str] | None = None, **defaults: str) -> Any:
    """Build `settings_cls` from `environ`; `defaults` override declared defaults by variable name
    (a service's own port or database name, for example)."""
    environ = os.environ if environ is None else environ
    values = {}
    for f in fields(settings_cls):
        variable: Variable = f.metadata["variable"]
        raw = environ.get(variable.name, defaults.get(variable.name, variable.default))
        try:
            values[f.name] = variable.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{variable.name}={raw!r}: {exc}") from exc
    return settings_cls(**values)


@dataclass(frozen=True)
class CommonSettings:
    """Variables every service reads."""

    host: str = env_field("HTTP_HOST", "127.0.0.1", "Address the service's HTTP server binds to")
    port: int = env_field("HTTP_PORT", "0", "Port of the service's HTTP server", int)
    amqp_url: str = env_field("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/",
                              "RabbitMQ connection URL (vhost included)")
    redis_url: str = env_field("REDIS_URL", "redis://127.0.0.1:6379/0", "Redis connection URL")
    log_level: str = env_field("LOG_LEVEL", "info", "debug, info, warning or error")
    log_format: str = env_field("LOG_FORMAT", "json", "json (one object a line) or console (for people)")
    prefetch: int = env_field("BROKER_PREFETCH", "32", "Messages a consumer holds unacknowledged at once", int)
    max_attempts: int = env_field(
        "BROKER_MAX_ATTEMPTS", "5", "Deliveries of a failing message before it is dead-lettered", int
    )
    rpc_timeout: float = env_field("RPC_TIMEOUT_SECONDS", "5", "How long a request/reply call waits for its answer",
                                   float)
    startup_timeout: float = env_field(
        "STARTUP_TIMEOUT_SECONDS", "60", "How long a service retries its broker, database and Redis at start-up", float
    )


@dataclass(frozen=True)
class MongoSettings:
    """Variables of the services that keep state in their own MongoDB database."""

    mongodb_uri: str = env_field("MONGODB_URI", "mongodb://127.0.0.1:27017/", "MongoDB connection URI")
    mongodb_database: str = env_field("MONGODB_DATABASE", "", "The service's own database")
    inbox_retention_hours: float = env_field(
        "INBOX_RETENTION_HOURS", "168", "How long a handled message id is remembered to drop redeliveries", float
    )


def _names(raw: str) -> frozenset[str]:
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


@dataclass(frozen=True)
class WorkerUplinkSettings:
    """Variables of the services that consume what workers publish (see wagw_common.worker_speakers)."""

    trusted_users: frozenset[str] = env_field(
        "WORKER_TRUSTED_USERS", "",
        "Broker users (comma-separated) that may speak for any worker, besides the service's own; every "
        "other worker must use its own user, worker.<worker id>. Never a worker's user in production",
        _names,
    )


# Published in this repository: anyone could sign tokens with it. Only a development run may use it.
DEVELOPMENT_JWT_SECRET = "dev-only-change-me-0123456789abcdef"


@dataclass(frozen=True)
class TokenSettings:
    """Variables of the services that issue or verify access tokens."""

    jwt_secret: str = env_field(
        "JWT_SECRET", DEVELOPMENT_JWT_SECRET,
        "HMAC key for access tokens (gateway signs, realtime verifies); the default is public and refused "
        "unless DEVELOPMENT_MODE is set",
    )
    development_mode: bool = env_field(
        "DEVELOPMENT_MODE", "false",
        "Development only (`make up` and the tests set it): allows the published default JWT_SECRET",
        _bool,
    )
    jwt_issuer: str = env_field("JWT_ISSUER", "wagw-gateway", "Issuer (iss) of access tokens")
    jwt_audience: str = env_field("JWT_AUDIENCE", "wagw-api", "Audience (aud) of access tokens")
    jwt_previous_secrets: tuple[str, ...] = env_field(
        "JWT_PREVIOUS_SECRETS", "",
        "Comma-separated retired JWT keys still accepted when verifying (never used to sign), so rotating "
        "JWT_SECRET logs nobody out; drop them once the access token lifetime has passed",
        lambda raw: tuple(s.strip() for s in raw.split(",") if s.strip()),
    )

    def refusal_to_start(self) -> str | None:
        """Why a service must not start with these settings (a missing JWT_SECRET outside development)."""
        if self.jwt_secret == DEVELOPMENT_JWT_SECRET and not self.development_mode:
            return ("JWT_SECRET is unset (or the published development default): set it to 32+ random characters, "
                    "or DEVELOPMENT_MODE=true for a development run")
        return None

    @property
    def jwt_verification_secrets(self) -> list[str]:
        """The keys a token may be signed with: the current one first, then the retired ones."""
        return [self.jwt_secret, *(s for s in self.jwt_previous_secrets if s != self.jwt_secret)]


bool_from_env = _bool
