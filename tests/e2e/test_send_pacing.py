"""Send pacing through the running platform and the simulator: a paced session's sends reach the
worker in order, spaced by at least the policy's gap; the session view shows what the policy is
doing; a worker SIGKILLed while paced sends wait neither sends one early nor any twice; and each
change of the policy reaches a webhook endpoint and a Socket.IO client."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from itertools import pairwise

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.chaos import worker_sends
from harness.failover import OFFLINE_AFTER, add_failover_fleet, connected_sessions, kill_and_wait_back, message_history
from harness.fixtures import started_platform
from harness.flows import wait_until, watched_customer

pytestmark = pytest.mark.e2e

GAP, JITTER = 1.0, 0.3
POLICY = {"min_gap_seconds": GAP, "jitter_seconds": JITTER, "warmup": None}
# The platform paces its hand-offs to the broker (checked exactly, in the orchestrator's own log). What
# the worker logs comes after the broker's delivery and the worker's `sent` report, whose delays vary
# from one message to the next; the worker-side spacing is allowed that much less than the gap.
DELIVERY_VARIANCE = timedelta(seconds=0.15)
DONE = {"sent", "delivered", "read"}


@pytest.fixture(scope="module")
def platform():
    with started_platform("wagw-pacing", functools.partial(add_failover_fleet, workers=2)) as run:
        yield run


def _log_times(process, event: str) -> dict[str, list[datetime]]:
    """message id -> when `event` was logged for it, from the process's JSON log."""
    times: dict[str, list[datetime]] = {}
    for line in process.log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == event and record.get("message_id"):
            times.setdefault(record["message_id"], []).append(datetime.fromisoformat(record["timestamp"]))
    return times


def _worker_times(run) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for process in run.workers.values():
        for message_id, times in _log_times(process, "simulator.message_sent").items():
            found[message_id] = min([*times, found.get(message_id, times[0])])
    return found


def _assert_paced(ids: list[str], at: dict[str, datetime], least: timedelta) -> None:
    moments = [at[mid] for mid in ids]
    assert moments == sorted(moments), "sent out of acceptance order"
    spacing = [b - a for a, b in pairwise(moments)]
    assert all(step >= least for step in spacing), spacing


async def _send_batch(api: GatewayClient, key: str, label: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        _, body, _ = await api.request("POST", "/send", api_key=key, json={"to": "+628123456789",
                                                                          "text": f"{label} {n}"}, expect=202)
        ids.append(body["message_id"])
    return ids


async def _all_sent(api: GatewayClient, token: str, session_id: str, ids: list[str], timeout: float) -> None:
    async def done():
        stored = await message_history(api, token, session_id)
        return stored is not None and all(stored.get(mid, {}).get("status") in DONE for mid in ids)

    await wait_until(done, timeout=timeout, interval=0.5)


async def test_paced_sends_arrive_in_order_a_gap_apart_and_a_failover_neither_hurries_nor_repeats_them(platform):
    run = platform
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(run.url("gateway"), http)
        [customer], keys, _ = await connected_sessions(run, api, customers=1, sessions_each=1)
        [session_id] = keys
        path = f"/sessions/{session_id}"

        status, refused, _ = await api.request("PATCH", path, token=customer.token,
                                               json={"pacing": {"min_gap_seconds": -1}})
        assert status == 422 and "min_gap_seconds" in json.dumps(refused), refused
        _, body, _ = await api.request("PATCH", path, token=customer.token, json={"pacing": POLICY}, expect=200)
        assert body["session"]["pacing"]["min_gap_seconds"] == GAP

        first = await _send_batch(api, keys[session_id], "first", 5)

        async def all_accepted():
            # 202 means durably on the broker: the orchestrator takes each one's slot a moment later.
            _, shown, _ = await api.request("GET", path, token=customer.token, expect=200)
            usage = shown["session"]["pacing"]["usage"]
            return usage if usage["sent_today"] == 5 else None

        usage = await wait_until(all_accepted, timeout=20)
        assert usage["day_limit"] is None
        assert 1 <= usage["waiting"] <= 5  # the first sends go while the rest wait their slots a gap apart
        await _all_sent(api, customer.token, session_id, first, timeout=30)

        # The failover: paced sends wait while the session's worker is killed and the session moves.
        second = await _send_batch(api, keys[session_id], "second", 5)
        _, shown, _ = await api.request("GET", path, token=customer.token, expect=200)
        victim = shown["session"]["worker_id"]
        await kill_and_wait_back(run, api, [customer], victim, timeout=OFFLINE_AFTER + 60)
        await _all_sent(api, customer.token, session_id, second, timeout=60)
        _, shown, _ = await api.request("GET", path, token=customer.token, expect=200)
        assert shown["session"]["pacing"]["usage"]["waiting"] == 0

    ids = first + second
    twice = {mid: n for mid, n in worker_sends(run).items() if mid in ids and n > 1}
    assert not twice, twice
    # The orchestrator's hand-offs (logged once the broker confirmed each) are a full gap apart.
    routed = _log_times(run.services["session-orchestrator"], "message.routed")
    _assert_paced(ids, {mid: max(routed[mid]) for mid in ids}, timedelta(seconds=GAP))
    worker_at = _worker_times(run)
    _assert_paced(ids, worker_at, timedelta(seconds=GAP) - DELIVERY_VARIANCE)
    spacing = [round((b - a).total_seconds(), 3) for a, b in pairwise(worker_at[m] for m in ids)]
    print(f"\npacing: {len(ids)} sends, spaced at the worker by {spacing} s (gap {GAP} s, jitter {JITTER} s)")


async def test_setting_changing_and_removing_the_policy_reach_a_webhook_and_a_socket_client(platform):
    async with aiohttp.ClientSession() as http, watched_customer(platform, http) as (api, customer, listener, sink):
        _, created, _ = await api.request("POST", "/sessions", token=customer.token, json={"name": "paced"},
                                          expect=201)
        session_id = created["session"]["session_id"]
        await api.request("POST", "/webhooks", token=customer.token, expect=201,
                          json={"url": sink.url, "events": ["session.pacing_changed"], "session_id": session_id})
        path = f"/sessions/{session_id}"
        changed = {**POLICY, "warmup": {"first_day_limit": 5, "daily_increase": 5, "days": 3}}
        for policy in (POLICY, POLICY, changed, None):  # the same policy twice is no change
            await api.request("PATCH", path, token=customer.token, json={"pacing": policy}, expect=200)

        async def three_delivered():
            seen = [r.payload["data"] for r in sink.received if r.payload["type"] == "session.pacing_changed"]
            return len({d["sequence"] for d in seen}) >= 3 and seen

        hooked = await wait_until(three_delivered, timeout=30)
        await listener.wait_for("session.pacing_changed",
                                lambda d: d["session_id"] == session_id and d["pacing"] is None)
        pushed = [d for d in listener.events["session.pacing_changed"] if d["session_id"] == session_id]

    for delivered in (hooked, pushed):  # at least once: a repeat has the same sequence
        seen = [d for _, d in sorted({d["sequence"]: d for d in delivered}.items())]
        assert len(seen) == 3, seen
        assert [d["pacing"] and d["pacing"]["warmup"] for d in seen] == [None, changed["warmup"], None]
        assert seen[0]["pacing"]["min_gap_seconds"] == GAP and seen[0]["pacing"]["since"]
