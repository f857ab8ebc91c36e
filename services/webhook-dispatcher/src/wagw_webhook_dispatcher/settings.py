"""The dispatcher's settings, on top of the ones every service reads."""

from __future__ import annotations

from dataclasses import dataclass

from wagw_common.settings import CommonSettings, MongoSettings, bool_from_env, env_field


@dataclass(frozen=True)
class Settings(MongoSettings, CommonSettings):
    webhook_timeout: float = env_field(
        "WEBHOOK_TIMEOUT_SECONDS", "10", "How long one delivery attempt waits for the customer's endpoint", float
    )
    allow_private_networks: bool = env_field(
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS", "false",
        "Accept webhook URLs on loopback, private or link-local addresses (local development and tests only)",
        bool_from_env,
    )
    delivery_concurrency: int = env_field(
        "WEBHOOK_DELIVERY_CONCURRENCY", "32", "Delivery attempts one replica runs at once", int
    )


SERVICE = "webhook-dispatcher"
# This service's own values of the variables every service reads.
DEFAULTS = {"HTTP_PORT": "8083", "MONGODB_DATABASE": "wagw_webhook_dispatcher"}
