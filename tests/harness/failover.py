"""The failover flow as steps (tests/e2e/test_session_failover.py runs them, `make bench` times them):
a platform of three simulated workers with a short offline timeout, customers whose sessions are
spread over them, and the time from SIGKILLing a worker to every session CONNECTED again elsewhere."""

from __future__ import annotations

import time

from .api import Customer, GatewayClient
from .flows import wait_until
from .infra import Vhost
from .platform_run import PlatformRun
from .tiers import set_tier

# The offline timeout: a worker that missed MISSED heartbeats, sent every HEARTBEAT seconds, is offline.
HEARTBEAT, MISSED = 2, 3
OFFLINE_AFTER = HEARTBEAT * MISSED


def failover_run(vhost: Vhost, *, workers: int = 3, **service_env: str) -> PlatformRun:
    """All five services and `workers` simulated workers (not started), the registry declaring a silent
    worker offline after OFFLINE_AFTER seconds."""
    run = PlatformRun(vhost)
    add_failover_fleet(run, workers=workers, missed=MISSED, **service_env)
    return run


def add_failover_fleet(run: PlatformRun, *, workers: int = 3, missed: int = MISSED, **service_env: str) -> None:
    """Adds all five services and `workers` simulated workers to `run`, the registry declaring a worker
    offline once it missed `missed` heartbeats (sent every HEARTBEAT seconds)."""
    for name in ("session-orchestrator", "webhook-dispatcher", "realtime"):
        run.add_service(name, 0, **service_env)
    # Flows poll and send far faster than a customer may: lift the gateway's rate limits.
    run.add_service("gateway", 0, RATE_LIMIT_USER_PER_MINUTE="100000", RATE_LIMIT_API_KEY_PER_MINUTE="100000",
                    TIER_SEND_RATES_PER_MINUTE="BASIC=60,PRO=600,MAX=100000", **service_env)
    run.add_service("worker-registry", 0, WORKER_MISSED_HEARTBEATS=str(missed), WORKER_MONITOR_INTERVAL_SECONDS="1",
                    **service_env)
    for _ in range(workers):
        run.add_worker(HEARTBEAT_INTERVAL_SECONDS=str(HEARTBEAT), SIMULATOR_AUTO_SCAN_SECONDS="0.2",
                       SIMULATOR_STATUS_DELAY_SECONDS="0.05", WORKER_CAPACITY="50", **service_env)


async def customer_sessions(api: GatewayClient, token: str) -> list[dict] | None:
    """The customer's sessions; None while the platform is too busy to answer (503: keep polling)."""
    status, body, _ = await api.request("GET", "/sessions", token=token)
    if status == 503:
        return None
    assert status == 200, body
    return body["sessions"]


async def message_history(api: GatewayClient, token: str, session_id: str) -> dict[str, dict] | None:
    """Every message of the session by id, all pages; None while the platform is too busy to answer (503)."""
    found, cursor = {}, None
    while True:
        query = {"limit": "200", **({"before": cursor} if cursor else {})}
        status, page, _ = await api.request("GET", f"/sessions/{session_id}/messages", token=token, params=query)
        if status == 503:
            return None  # busy: ask again
        assert status == 200, page
        found.update({m["message_id"]: m for m in page["messages"]})
        cursor = page["next_cursor"]
        if not cursor:
            return found


async def all_sessions(api: GatewayClient, customers: list[Customer]) -> list[dict] | None:
    found = []
    for customer in customers:
        sessions = await customer_sessions(api, customer.token)
        if sessions is None:
            return None
        found += sessions
    return found


async def connected_sessions(run: PlatformRun, api: GatewayClient, *, customers: int, sessions_each: int,
                             timeout: float = 60) -> tuple[list[Customer], dict[str, str], dict[str, list[str]]]:
    """MAX-tier customers with sessions all CONNECTED: (customers, session id -> API key, worker -> session ids)."""
    signed_up, keys = [], {}
    for _ in range(customers):
        customer = await api.sign_up()
        await set_tier(run, customer.email, "MAX")
        signed_up.append(customer)
        for i in range(sessions_each):
            _, created, _ = await api.request("POST", "/sessions", token=customer.token,
                                              json={"name": f"line {i}"}, expect=201)
            session_id = created["session"]["session_id"]
            keys[session_id] = created["api_key"]
            await api.request("POST", f"/sessions/{session_id}/connect", token=customer.token, expect=202)

    async def all_connected():
        found = await all_sessions(api, signed_up)
        return found and len(found) == len(keys) and all(s["status"] == "CONNECTED" for s in found) and found

    placed = await wait_until(all_connected, timeout=timeout, interval=0.5)
    by_worker: dict[str, list[str]] = {}
    for session in placed:
        by_worker.setdefault(session["worker_id"], []).append(session["session_id"])
    return signed_up, keys, by_worker


async def kill_and_wait_back(run: PlatformRun, api: GatewayClient, customers: list[Customer], victim: str,
                             timeout: float) -> tuple[float, list[dict]]:
    """SIGKILL the worker (no unregister, no goodbye); wait until every session is CONNECTED on another.
    Returns the seconds from the kill to the last session back, and the sessions then."""
    run.workers[victim].kill()
    killed_at = time.monotonic()

    async def all_back_elsewhere():
        found = await all_sessions(api, customers)
        return found and all(s["status"] == "CONNECTED" and s["worker_id"] not in (victim, None)
                             for s in found) and found

    back = await wait_until(all_back_elsewhere, timeout=timeout, interval=0.25)
    return time.monotonic() - killed_at, back
