"""A worker paused as a whole (SIGSTOP: a frozen VM, a long stall) past its heartbeat window while
messages wait in its queue. Its sessions move to the other worker, which sends what waited; when the
paused worker resumes, the commands it finds in its queue are stale: it must send none of them, and
the sessions it still holds must be stopped there. Every accepted message is sent exactly once,
counted in both workers' own logs."""

from __future__ import annotations

import functools
import json

import aiohttp
import pytest

from harness.api import GatewayClient
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


async def test_a_worker_paused_past_its_window_sends_none_of_its_stale_commands(pair):
    run = pair
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(run.url("gateway"), http)
        customers, keys, by_worker = await connected_sessions(run, api, customers=1, sessions_each=4)
        token = customers[0].token
        victim = max(by_worker, key=lambda w: len(by_worker[w]))
        stranded = by_worker[victim]
        run.workers[victim].pause()
        try:
            # Accepted while the session is still CONNECTED on the paused worker: routed to its queue.
            accepted = {}
            for session_id in stranded:
                for n in range(SENDS_PER_SESSION):
                    _, body, _ = await api.request("POST", "/send", api_key=keys[session_id], expect=202,
                                                   json={"to": "+628123456789", "text": f"{session_id} #{n}"})
                    accepted[body["message_id"]] = session_id

            async def moved_and_sent():
                found = await all_sessions(api, customers)
                if not found or any(s["status"] != "CONNECTED" or s["worker_id"] == victim for s in found):
                    return False
                for session_id in stranded:
                    history = await message_history(api, token, session_id)
                    if history is None or any(history.get(mid, {}).get("status") not in DONE
                                              for mid, sid in accepted.items() if sid == session_id):
                        return False
                return True

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
        sends = worker_sends(run)
        assert {mid: sends[mid] for mid in accepted} == {mid: 1 for mid in accepted}
        assert {r["message_id"] for r in _logged(victim_log, "worker.message_bounced")} >= set(accepted)

        # It still held the moved sessions: told by the registry they are not its own, it reported them,
        # and the orchestrator stopped them there (one session live on two workers is one too many).
        async def strays_stopped() -> bool:
            async with http.get(f"{run.workers[victim].url}/sessions") as response:
                held = {s["session_id"] for s in (await response.json())["sessions"]}
            return not held & set(stranded)

        await wait_until(strays_stopped, timeout=30, interval=0.5)
        for session_id in stranded:
            history = await message_history(api, token, session_id)
            for mid, sid in accepted.items():
                if sid == session_id:
                    timeline = [step["status"] for step in history[mid]["timeline"]]
                    assert timeline.count("sent") == 1 and "failed" not in timeline, history[mid]


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
