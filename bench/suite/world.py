"""A platform for one part of the bench: every service and simulated worker as processes on a fresh
vhost and databases (tests/harness PlatformRun), and a customer with connected sessions."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import aiohttp
import redis
from harness.api import Customer, GatewayClient
from harness.flows import wait_until
from harness.infra import create_vhost, delete_vhost
from harness.platform_run import PlatformRun
from harness.tiers import set_tier
from wagw_common.services import SERVICES

# The bench sends far faster than any tier may: the gateway's limits are lifted (as the e2e tests do),
# so the figures measure the work, not the rate limiter refusing it.
UNLIMITED = {"RATE_LIMIT_USER_PER_MINUTE": "100000000", "RATE_LIMIT_API_KEY_PER_MINUTE": "100000000",
             "TIER_SEND_RATES_PER_MINUTE": "BASIC=100000000,PRO=100000000,MAX=100000000"}
# Workers connect their sessions by themselves (no phone to scan a QR).
AUTO_SCAN = {"SIMULATOR_AUTO_SCAN_SECONDS": "0.2", "WORKER_CAPACITY": "100"}


@contextlib.asynccontextmanager
async def platform(prefix: str, *, workers: int = 1, log_level: str = "info", service_env: dict | None = None,
                   worker_env: dict | None = None, replicas: int = 1, every_process_env: dict | None = None):
    """Start everything (each service `replicas` times), yield the PlatformRun, then stop it and drop its
    vhost and databases. `every_process_env` goes to the services and the workers alike."""
    vhost = await create_vhost(prefix)
    run = PlatformRun(vhost, replicas=replicas)
    redis.Redis.from_url(run.redis_url).flushdb()
    service_env = service_env or {}
    for name in SERVICES:
        env = {"LOG_LEVEL": log_level, **(UNLIMITED if name == "gateway" else {}), **(every_process_env or {}),
               **service_env.get(name, {})}
        run.add_service(name, **env)
    for _ in range(workers):
        run.add_worker(LOG_LEVEL=log_level, **{**AUTO_SCAN, **(every_process_env or {}), **(worker_env or {})})
    try:
        await run.start()
        yield run
    finally:
        run.stop()
        run.drop_databases()
        await delete_vhost(vhost)


@dataclass
class Tenant:
    api: GatewayClient
    customer: Customer
    user_id: str
    keys: dict[str, str]  # session id -> its API key


async def sessions_of(api: GatewayClient, token: str) -> list[dict] | None:
    """The customer's sessions; None while the platform is too busy to answer."""
    status, body, _ = await api.request("GET", "/sessions", token=token)
    return body["sessions"] if status == 200 else None


async def tenant_with_sessions(run: PlatformRun, http: aiohttp.ClientSession, count: int,
                               timeout: float = 60) -> Tenant:
    """A MAX-tier customer with `count` sessions, each CONNECTED on a worker."""
    api = GatewayClient(run.url("gateway"), http)
    customer = await api.sign_up()
    await set_tier(run, customer.email, "MAX")
    _, me, _ = await api.request("GET", "/users/me", token=customer.token, expect=200)
    keys = {}
    for i in range(count):
        _, created, _ = await api.request("POST", "/sessions", token=customer.token, json={"name": f"bench {i}"},
                                          expect=201)
        session_id = created["session"]["session_id"]
        keys[session_id] = created["api_key"]
        await api.request("POST", f"/sessions/{session_id}/connect", token=customer.token, expect=202)

    async def all_connected():
        found = await sessions_of(api, customer.token)
        return found and len(found) == count and all(s["status"] == "CONNECTED" for s in found)

    await wait_until(all_connected, timeout=timeout, interval=0.5)
    return Tenant(api, customer, me["user"]["user_id"], keys)
