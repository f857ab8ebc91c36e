"""Failover: three simulated workers hold 60 connected sessions; one is killed with SIGKILL while
messages are being sent. Every session must be CONNECTED again on a living worker, and every
accepted message sent exactly once (counted in the workers' own logs). The time from the kill to the last session back
is printed."""

from __future__ import annotations

import asyncio
import functools
import random
import shutil
import tempfile
from pathlib import Path

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.chaos import worker_sends
from harness.failover import (
    MISSED, OFFLINE_AFTER, add_failover_fleet, connected_sessions, customer_sessions, kill_and_wait_back,
    message_history,
)
from harness.fixtures import started_platform
from harness.flows import wait_until
from harness.private_infra import PrivateFerret
from harness.realtime import RealtimeListener

pytestmark = pytest.mark.e2e

WORKERS, SESSIONS_PER_CUSTOMER, CUSTOMERS = 3, 20, 3
# The offline timeout, OFFLINE_AFTER (a worker that missed MISSED heartbeats), is tests/harness/failover.py's.
# Each session sends one message every SEND_PERIOD seconds (about 60 / SEND_PERIOD messages a second
# in all): a rate the local MongoDB-compatible server (FerretDB over SQLite) sustains next to the
# failover's own writes, so the figure measures the failover, not a backlog of sends.
SEND_PERIOD = 10.0
DONE = {"sent", "delivered", "read"}


@pytest.fixture(scope="module")
def fleet(request):
    """All five services and three simulated workers, with a short offline timeout. A test module that
    imports this fixture and sets `REPLICAS = n` gets every service n times, and `MISSED = m` a longer
    offline timeout (tests/e2e/test_replicas_failover.py)."""
    # A MongoDB-compatible server of its own, as a deployment has: the shared local one serialises
    # every write of every suite running at the same time behind one lock (see the README), and the
    # figure would measure the neighbours.
    database = PrivateFerret("ferretdb", Path(tempfile.mkdtemp(prefix="wagw-failover-")) / "ferretdb")
    database.start()
    try:
        build = functools.partial(add_failover_fleet, workers=WORKERS, missed=getattr(request.module, "MISSED", MISSED))
        with started_platform("wagw-failover", build, replicas=getattr(request.module, "REPLICAS", 1),
                              mongo_uri=database.uri, drop_databases=False) as run:
            yield run
    finally:
        database.stop()
        shutil.rmtree(database.root.parent, ignore_errors=True)


async def test_sessions_move_off_a_killed_worker_and_no_message_is_lost_or_sent_twice(fleet):
    run = fleet
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(run.url("gateway"), http)
        customers, keys, by_worker = await connected_sessions(run, api, customers=CUSTOMERS,
                                                              sessions_each=SESSIONS_PER_CUSTOMER, timeout=60)
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
                    async with asyncio.timeout(SEND_PERIOD):
                        await stop.wait()
                except asyncio.TimeoutError:
                    pass

        senders = [asyncio.create_task(keep_sending(sid)) for sid in keys]
        try:
            await asyncio.sleep(SEND_PERIOD)  # every session has sent before the kill
            victim = max(by_worker, key=lambda w: len(by_worker[w]))
            moved = set(by_worker[victim])
            # SIGKILL (no unregister, no goodbye), then every session CONNECTED on another worker.
            back_after, back = await kill_and_wait_back(run, api, customers, victim, timeout=OFFLINE_AFTER + 60)
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
            await wait_until(lambda session_id=session_id: seen_live(session_id), timeout=20)
        for listener in listeners:
            await listener.close()

        # Every accepted message ends sent (or further), with exactly one `sent` step in its timeline.
        token_of = {}
        for customer in customers:
            for session in await wait_until(lambda customer=customer: customer_sessions(api, customer.token)):
                token_of[session["session_id"]] = customer.token

        async def history(session_id: str) -> dict[str, dict] | None:
            return await message_history(api, token_of[session_id], session_id)

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
            stored = await wait_until(lambda session_id=session_id: history(session_id))
            for mid in ids:
                # Receipts are handled concurrently: `read` may land before `sent`, which is then skipped
                # (statuses only move forward), so a timeline has at most one `sent`, never a `failed`.
                timeline = [step["status"] for step in stored[mid]["timeline"]]
                assert timeline.count("sent") <= 1 and "failed" not in timeline, stored[mid]
            # When each left the platform: the worker's first report after `queued`.
            sent_at = [stored[mid]["timeline"][1]["at"] for mid in ids]
            out_of_order += sum(1 for a, b in zip(sent_at, sent_at[1:], strict=False) if b < a)
        print(f"failover: messages sent out of acceptance order: {out_of_order}")
        # The workers' own view: across every worker's log, no accepted message id was sent twice.
        twice = {mid: n for mid, n in worker_sends(run).items() if n > 1}
        assert not twice, twice

