"""Failover: three simulated workers hold 60 connected sessions; one is killed with SIGKILL while
messages are being sent. Every session must be CONNECTED again on a living worker, and every
accepted message sent exactly once (counted in the workers' own logs). The time from the kill to the last session back is printed."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp
import pytest
import redis

from harness.api import GatewayClient
from harness.flows import wait_until
from harness.infra import create_vhost, delete_vhost
from harness.platform_run import PlatformRun
from harness.realtime import RealtimeListener
from harness.tiers import set_tier

pytestmark = pytest.mark.e2e

WORKERS, SESSIONS_PER_CUSTOMER, CUSTOMERS = 3, 20, 3
OFFLINE_AFTER = 6
# Each session sends one message every SEND_PERIOD seconds (about 60 / SEND_PERIOD messages a second
# in all): a rate the local MongoDB-compatible server (FerretDB over SQLite) sustains next to the
# failover's own writes, so the figure measures the failover, not a backlog of sends.
SEND_PERIOD = 10.0
DONE = {"sent", "delivered", "read"}


@pytest.fixture(scope="module")
def fleet():
    """All five services and three simulated workers, with a short offline timeout."""
    vhost = asyncio.run(create_vhost("wagw-failover"))
    run = PlatformRun(vhost)
    redis.Redis.from_url(run.redis_url).flushdb()
    for name in ("session-orchestrator", "webhook-dispatcher", "realtime"):
        run.add_service(name)
    # The test polls and sends far faster than a customer may: lift the gateway's rate limits.
    run.add_service("gateway", RATE_LIMIT_USER_PER_MINUTE="100000", RATE_LIMIT_API_KEY_PER_MINUTE="100000",
                    TIER_SEND_RATES_PER_MINUTE="BASIC=60,PRO=600,MAX=100000")
    run.add_service("worker-registry", WORKER_OFFLINE_AFTER_SECONDS=str(OFFLINE_AFTER),
                    WORKER_MONITOR_INTERVAL_SECONDS="1")
    for _ in range(WORKERS):
        run.add_worker(HEARTBEAT_INTERVAL_SECONDS="2", SIMULATOR_AUTO_SCAN_SECONDS="0.2",
                       SIMULATOR_STATUS_DELAY_SECONDS="0.05", WORKER_CAPACITY="50")
    try:
        asyncio.run(run.start())
    except Exception:
        run.stop()
        raise
    yield run
    run.stop()
    asyncio.run(delete_vhost(vhost))


async def _sessions(api: GatewayClient, token: str) -> list[dict] | None:
    """The customer's sessions; None while the platform is too busy to answer (503: keep polling)."""
    status, body, _ = await api.request("GET", "/sessions", token=token)
    if status == 503:
        return None
    assert status == 200, body
    return body["sessions"]


async def test_sessions_move_off_a_killed_worker_and_no_message_is_lost_or_sent_twice(fleet):
    run = fleet
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(run.url("gateway"), http)
        customers, keys = [], {}
        for _ in range(CUSTOMERS):
            customer = await api.sign_up()
            await set_tier(run, customer.email, "MAX")
            customers.append(customer)
            for i in range(SESSIONS_PER_CUSTOMER):
                _, created, _ = await api.request("POST", "/sessions", token=customer.token,
                                                  json={"name": f"line {i}"}, expect=201)
                session_id = created["session"]["session_id"]
                keys[session_id] = created["api_key"]
                await api.request("POST", f"/sessions/{session_id}/connect", token=customer.token, expect=202)

        async def all_sessions() -> list[dict] | None:
            found = []
            for customer in customers:
                sessions = await _sessions(api, customer.token)
                if sessions is None:
                    return None
                found += sessions
            return found

        async def all_connected():
            found = await all_sessions()
            return found and len(found) == len(keys) and all(s["status"] == "CONNECTED" for s in found) and found

        placed = await wait_until(all_connected, timeout=60, interval=0.5)
        by_worker: dict[str, list[str]] = {}
        for session in placed:
            by_worker.setdefault(session["worker_id"], []).append(session["session_id"])
        assert len(by_worker) == WORKERS, {w: len(s) for w, s in by_worker.items()}

        listeners = [RealtimeListener(run.url("realtime"), c.token) for c in customers]
        for listener in listeners:
            await listener.connect()
        accepted: dict[str, list[str]] = {sid: [] for sid in keys}
        stop = asyncio.Event()

        async def keep_sending(session_id: str) -> None:
            n = 0
            await asyncio.sleep(random.uniform(0, SEND_PERIOD))
            while not stop.is_set():
                n += 1
                status, body, _ = await api.request("POST", "/send", api_key=keys[session_id],
                                                    json={"to": "+628123456789", "text": f"{session_id} #{n}"})
                assert status == 202, body
                accepted[session_id].append(body["message_id"])
                try:
                    await asyncio.wait_for(stop.wait(), SEND_PERIOD)
                except asyncio.TimeoutError:
                    pass

        senders = [asyncio.create_task(keep_sending(sid)) for sid in keys]
        try:
            await asyncio.sleep(SEND_PERIOD)  # every session has sent before the kill
            victim = max(by_worker, key=lambda w: len(by_worker[w]))
            moved = set(by_worker[victim])
            run.workers[victim].kill()  # SIGKILL: no unregister, no goodbye
            killed_at = time.monotonic()

            async def all_back_elsewhere():
                found = await all_sessions()
                return found and all(s["status"] == "CONNECTED" and s["worker_id"] not in (victim, None)
                                     for s in found) and found

            back = await wait_until(all_back_elsewhere, timeout=OFFLINE_AFTER + 60, interval=0.25)
            back_after = time.monotonic() - killed_at
            await asyncio.sleep(SEND_PERIOD)  # keep sending on the new placement
        finally:
            stop.set()
            await asyncio.gather(*senders, return_exceptions=True)
        for task in senders:
            if task.exception():
                raise task.exception()
        print(f"\nfailover: {len(moved)} sessions moved off {victim}; kill -> last session CONNECTED again: "
              f"{back_after:.2f} s (offline timeout {OFFLINE_AFTER} s)")
        assert {s["worker_id"] for s in back} <= set(run.workers) - {victim}

        # Customers saw each moved session go RECONNECTING, then CONNECTED, live.
        async def seen_live(session_id: str) -> bool:
            for listener in listeners:
                steps = sorted((e["sequence"], e["status"]) for e in listener.events["session.status"]
                               if e["session_id"] == session_id and e["previous"] is not None)
                statuses = [status for _, status in steps]
                if "RECONNECTING" in statuses:
                    return statuses[statuses.index("RECONNECTING"):][-1] == "CONNECTED"
            return False

        for session_id in moved:
            await wait_until(lambda: seen_live(session_id), timeout=20)
        for listener in listeners:
            await listener.close()

        # Every accepted message ends sent (or further), with exactly one `sent` step in its timeline.
        token_of = {}
        for customer in customers:
            for session in await wait_until(lambda: _sessions(api, customer.token)):
                token_of[session["session_id"]] = customer.token

        async def history(session_id: str) -> dict[str, dict]:
            found, cursor = {}, None
            while True:
                query = {"limit": "200", **({"before": cursor} if cursor else {})}
                status, page, _ = await api.request("GET", f"/sessions/{session_id}/messages",
                                                    token=token_of[session_id], params=query)
                if status == 503:
                    return None  # busy: ask again
                assert status == 200, page
                found.update({m["message_id"]: m for m in page["messages"]})
                cursor = page["next_cursor"]
                if not cursor:
                    return found

        async def everything_sent():
            for session_id, ids in accepted.items():
                stored = await history(session_id)
                if stored is None or any(stored.get(mid, {}).get("status") not in DONE for mid in ids):
                    return False
            return True

        try:
            await wait_until(everything_sent, timeout=60, interval=1)
        finally:
            total = sum(len(ids) for ids in accepted.values())
            summary = {"accepted": total, "on_moved_sessions": sum(len(accepted[s]) for s in moved)}
            print(f"failover: messages {summary}")
        out_of_order = 0
        for session_id, ids in accepted.items():
            stored = await wait_until(lambda: history(session_id))
            for mid in ids:
                # Receipts are handled concurrently: `read` may land before `sent`, which is then skipped
                # (statuses only move forward), so a timeline has at most one `sent`, never a `failed`.
                timeline = [step["status"] for step in stored[mid]["timeline"]]
                assert timeline.count("sent") <= 1 and "failed" not in timeline, stored[mid]
            # When each left the platform: the worker's first report after `queued`.
            sent_at = [stored[mid]["timeline"][1]["at"] for mid in ids]
            out_of_order += sum(1 for a, b in zip(sent_at, sent_at[1:]) if b < a)
        print(f"failover: messages sent out of acceptance order: {out_of_order}")
        assert await _worker_logs_show_each_message_sent_once(run, accepted)


async def _worker_logs_show_each_message_sent_once(run: PlatformRun, accepted: dict[str, list[str]]) -> bool:
    """The workers' own view: across every worker's log, no accepted message id was sent twice."""
    import json

    sends: dict[str, int] = {}
    for process in run.workers.values():
        try:
            lines = process.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == "simulator.message_sent" and record.get("message_id"):
                sends[record["message_id"]] = sends.get(record["message_id"], 0) + 1
    twice = {mid: n for mid, n in sends.items() if n > 1}
    assert not twice, twice
    return True
