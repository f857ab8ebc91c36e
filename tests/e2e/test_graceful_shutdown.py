"""Graceful shutdown under load: while many POST /send are in flight, the orchestrator gets SIGTERM. It
must stop taking messages, finish the ones in hand, close cleanly and in bounded time; once it is
started again, every accepted message reaches the worker exactly once and ends `sent` (or further) in
the history. Then the gateway gets SIGTERM with sends in flight: no request gets a 5xx, and every
send it accepted (202) is sent exactly once too."""

from __future__ import annotations

import asyncio
import json
import signal
import time

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.chaos import worker_sends
from harness.failover import connected_sessions, message_history
from harness.fixtures import started_platform
from harness.flows import wait_until
from harness.platform_run import PlatformRun

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

SESSIONS, SENDERS_PER_SESSION = 4, 2
# Each sender waits this long between its sends: ~16 sends a second in all, a rate the local
# MongoDB-compatible server sustains, so the audit measures the shutdown rather than a backlog.
PAUSE = 0.5
DONE = {"sent", "delivered", "read"}
STOP_BOUND = 40  # seconds: the service's own drain is bounded well below Kubernetes' grace period


def _platform_under_load(run: PlatformRun) -> None:
    for name in ("session-orchestrator", "worker-registry", "webhook-dispatcher", "realtime"):
        run.add_service(name)
    run.add_service("gateway", RATE_LIMIT_USER_PER_MINUTE="100000", RATE_LIMIT_API_KEY_PER_MINUTE="100000")
    run.add_worker(SIMULATOR_AUTO_SCAN_SECONDS="0.2", SIMULATOR_STATUS_DELAY_SECONDS="0.05")


@pytest.fixture(scope="module")
def loaded_platform():
    with started_platform("wagw-shutdown", _platform_under_load) as run:
        yield run


async def _terminate(process) -> tuple[int, float]:
    """SIGTERM, then wait for the exit without blocking the event loop (the senders keep going)."""
    started = time.monotonic()
    process.process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.process.wait, STOP_BOUND + 20)
    return code, time.monotonic() - started


class Load:
    """SENDERS_PER_SESSION concurrent clients per session, each sending every PAUSE seconds."""

    def __init__(self, url: str, api_keys: list[str]):
        self.url, self.api_keys = url, api_keys
        self.accepted: list[str] = []
        self.statuses: dict[int | str, int] = {}
        self.stop = asyncio.Event()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(self._sender(http, key, i) for key in self.api_keys
                                   for i in range(SENDERS_PER_SESSION)))

    async def _sender(self, http: aiohttp.ClientSession, api_key: str, i: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                async with http.post(f"{self.url}/api/v1/send", headers={"X-API-Key": api_key},
                                     json={"to": "+628123456789", "text": f"load {i} #{n}"},
                                     timeout=aiohttp.ClientTimeout(total=30)) as response:
                    body = await response.json(content_type=None)
                    self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
                    if response.status == 202:
                        self.accepted.append(body["message_id"])
            except aiohttp.ClientConnectorError:
                # The listener is closed (gateway stopping or down): no request was taken. Try again.
                self.statuses["refused"] = self.statuses.get("refused", 0) + 1
                await asyncio.sleep(0.2)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # A keep-alive connection the stopping server closed while idle is fine; a request cut
                # off half-way is not. aiohttp cannot tell them apart here, so count and judge below.
                self.statuses[type(exc).__name__] = self.statuses.get(type(exc).__name__, 0) + 1
            await asyncio.sleep(PAUSE)


def _log_events(process, event: str) -> list[dict]:
    found = []
    for line in process.log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == event:
            found.append(record)
    return found


async def test_sigterm_under_load_loses_nothing_and_sends_nothing_twice(loaded_platform):
    run = loaded_platform
    orchestrator, gateway = run.services["session-orchestrator"], run.services["gateway"]
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(run.url("gateway"), http)
        customers, keys, _ = await connected_sessions(run, api, customers=1, sessions_each=SESSIONS, timeout=60)
        customer = customers[0]

        # --- phase 1: SIGTERM the orchestrator mid-stream, start it again --------------------------
        load = Load(run.url("gateway"), list(keys.values()))
        sending = asyncio.create_task(load.run())
        await asyncio.sleep(3)
        before_stop = len(load.accepted)
        code, took = await _terminate(orchestrator)
        print(f"\nshutdown: orchestrator exited {code} after {took:.1f} s with {before_stop} sends accepted so far")
        assert code == 0, orchestrator.tail()
        assert took < STOP_BOUND
        await asyncio.sleep(2)  # sends keep being accepted: they wait in the broker
        orchestrator.start()
        await orchestrator.wait_ready()
        await asyncio.sleep(3)

        # --- phase 2: SIGTERM the gateway with requests in flight, start it again ------------------
        code, took = await _terminate(gateway)
        print(f"shutdown: gateway exited {code} after {took:.1f} s")
        assert code == 0, gateway.tail()
        gateway.start()
        await gateway.wait_ready()
        await asyncio.sleep(2)
        load.stop.set()
        await sending
        print(f"shutdown: {len(load.accepted)} sends accepted; answers: {load.statuses}")
        assert not [s for s in load.statuses if isinstance(s, int) and s >= 500], load.statuses
        assert set(load.statuses) - {"refused", "ServerDisconnectedError", "ClientOSError"} == {202}, load.statuses
        assert len(load.accepted) > before_stop > 0

        # --- the audit: every accepted message sent, exactly once --------------------------------
        accepted = set(load.accepted)
        assert len(accepted) == len(load.accepted), "a message id was handed out twice"

        async def history() -> dict[str, dict] | None:
            found = {}
            for session_id in keys:
                page = await message_history(api, customer.token, session_id)
                if page is None:
                    return None
                found.update(page)
            return found

        async def everything_sent():
            stored = await history()
            return stored is not None and all(stored.get(mid, {}).get("status") in DONE for mid in accepted) and stored

        stored = await wait_until(everything_sent, timeout=180, interval=2)
        for mid in accepted:
            timeline = [step["status"] for step in stored[mid]["timeline"]]
            assert timeline.count("sent") <= 1 and "failed" not in timeline, stored[mid]

    sends = worker_sends(run)  # the one worker's own log
    assert accepted <= sends.keys(), f"{len(accepted - sends.keys())} accepted messages never reached the worker"
    twice = {mid: n for mid, n in sends.items() if n > 1}
    assert not twice, twice
    # The orchestrator's own account of its stop: it stopped consuming before it closed.
    assert _log_events(orchestrator, "service.stopping") and _log_events(orchestrator, "service.stopped")
