"""Workers paused as a whole (SIGSTOP: a frozen VM, a long stall) past their heartbeat window while
messages wait in their queues, their connections left open.

- One worker paused: its sessions move to the other, which sends what waited. When the paused worker
  resumes, the commands it finds in its queue are stale: it must send none of them, and the sessions it
  still holds must be stopped there.
- Every worker paused: the sessions wait for a worker, later sends are held. When the workers resume,
  what they find in their queues is bounced all the same (they cannot know nothing moved), the
  sessions come back, and every message goes out.

Each accepted message is sent exactly once, counted in both workers' own logs."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import aiohttp
import pytest

from harness.api import Customer, GatewayClient
from harness.chaos import worker_sends
from harness.failover import OFFLINE_AFTER, add_failover_fleet, all_sessions, connected_sessions, message_history
from harness.fixtures import started_platform
from harness.flows import wait_until

pytestmark = pytest.mark.e2e

DONE = {"sent", "delivered", "read"}
SENDS_PER_SESSION = 3


@pytest.fixture(scope="module")
def pair():
    with started_platform("wagw-paused", functools.partial(add_failover_fleet, workers=2)) as run:
        yield run


@dataclass
class Line:
    """A customer with four connected sessions, and the client to talk to the platform."""
    http: aiohttp.ClientSession
    api: GatewayClient
    customer: Customer
    keys: dict[str, str]  # session id -> API key
    by_worker: dict[str, list[str]]

    @property
    def token(self) -> str:
        return self.customer.token


@pytest.fixture
async def line(pair):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(pair.url("gateway"), http)
        customers, keys, by_worker = await connected_sessions(pair, api, customers=1, sessions_each=4)
        yield Line(http, api, customers[0], keys, by_worker)


async def test_a_worker_paused_past_its_window_sends_none_of_its_stale_commands(pair, line):
    run, api, token, keys = pair, line.api, line.token, line.keys
    customers, by_worker = [line.customer], line.by_worker
    victim = max(by_worker, key=lambda w: len(by_worker[w]))
    stranded = by_worker[victim]
    run.workers[victim].pause()
    try:
        # Accepted while the sessions are still CONNECTED on the paused worker: routed to its queue.
        accepted = await _send(api, keys, stranded)

        async def moved_and_sent():
            found = await all_sessions(api, customers)
            if not found or any(s["status"] != "CONNECTED" or s["worker_id"] == victim for s in found):
                return False
            return await _all_sent(api, token, accepted)

        # The other worker took the sessions over and sent what waited for them.
        await wait_until(moved_and_sent, timeout=OFFLINE_AFTER + 60, interval=0.5)
    finally:
        run.workers[victim].resume()

    victim_log = run.workers[victim].log_path

    async def stale_commands_handled() -> bool:
        handled = {r["message_id"] for r in _logged(victim_log, "worker.message_bounced", "simulator.message_sent")}
        return handled >= set(accepted)

    # The resumed worker read every stale command: it must have handed each back, none sent.
    await wait_until(stale_commands_handled, timeout=30, interval=0.5)
    await _each_sent_once(run, api, token, accepted)
    assert {r["message_id"] for r in _logged(victim_log, "worker.message_bounced")} >= set(accepted)

    # It still held the moved sessions: told by the registry they are not its own, it reported them,
    # and the orchestrator stopped them there (one session live on two workers is one too many).
    async def strays_stopped() -> bool:
        async with line.http.get(f"{run.workers[victim].url}/sessions") as response:
            held = {s["session_id"] for s in (await response.json())["sessions"]}
        return not held & set(stranded)

    await wait_until(strays_stopped, timeout=30, interval=0.5)


async def test_with_every_worker_paused_past_its_window_each_message_goes_out_once_they_are_back(pair, line):
    run, api, token, keys, customers = pair, line.api, line.token, line.keys, [line.customer]
    for worker in run.workers.values():
        worker.pause()
    try:
        stale = await _send(api, keys, list(keys))  # routed to the paused workers' queues
        accepted = dict(stale)

        async def waiting_for_a_worker():
            found = await all_sessions(api, customers)
            return found and all(s["status"] == "RECONNECTING" for s in found)

        # Both declared offline, no worker to move the sessions to.
        await wait_until(waiting_for_a_worker, timeout=OFFLINE_AFTER + 60, interval=0.5)
        accepted |= await _send(api, keys, list(keys))  # held: no worker to hand them to
    finally:
        for worker in run.workers.values():
            worker.resume()

    async def back_and_sent():
        found = await all_sessions(api, customers)
        if not found or any(s["status"] != "CONNECTED" for s in found):
            return False
        return await _all_sent(api, token, accepted)

    await wait_until(back_and_sent, timeout=60, interval=0.5)
    await _each_sent_once(run, api, token, accepted)
    # What waited in their queues was bounced (held while its session had no worker), then sent.
    bounced = {r["message_id"] for w in run.workers.values() for r in _logged(w.log_path, "worker.message_bounced")}
    assert bounced >= set(stale)


async def _send(api: GatewayClient, keys: dict[str, str], session_ids: list[str]) -> dict[str, str]:
    """SENDS_PER_SESSION messages through each session: message id -> session id."""
    accepted = {}
    for session_id in session_ids:
        for n in range(SENDS_PER_SESSION):
            _, body, _ = await api.request("POST", "/send", api_key=keys[session_id], expect=202,
                                           json={"to": "+628123456789", "text": f"{session_id} #{n}"})
            accepted[body["message_id"]] = session_id
    return accepted


async def _histories(api: GatewayClient, token: str, accepted: dict[str, str]) -> dict[str, dict] | None:
    found = {}
    for session_id in set(accepted.values()):
        history = await message_history(api, token, session_id)
        if history is None:
            return None
        found.update(history)
    return found


async def _all_sent(api: GatewayClient, token: str, accepted: dict[str, str]) -> bool:
    found = await _histories(api, token, accepted)
    return found is not None and all(found.get(mid, {}).get("status") in DONE for mid in accepted)


async def _each_sent_once(run, api: GatewayClient, token: str, accepted: dict[str, str]) -> None:
    """Once by the workers' own count, one `sent` step in its history, never `failed`."""
    sends = worker_sends(run)
    assert {mid: sends[mid] for mid in accepted} == {mid: 1 for mid in accepted}
    found = await wait_until(lambda: _histories(api, token, accepted))
    for mid in accepted:
        timeline = [step["status"] for step in found[mid]["timeline"]]
        assert timeline.count("sent") == 1 and "failed" not in timeline, found[mid]


def _logged(path, *events: str) -> list[dict]:
    """The records of a process's JSON log with one of these events (and a message id)."""
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") in events and record.get("message_id"):
            records.append(record)
    return records
