"""The worker's side of the bridge's line protocol against a stand-in program (a script that answers as
told): replies matched to requests by id, lines that are not JSON or answer nobody skipped, events in
order per session while a sink asks the program something, a request never answered timed out, a program
that never says ready refused, one that ends failing what waits; and the program's check (missing, another
version), which a worker configured for whatsmeow runs before it starts."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from wagw_worker_whatsapp import bridge_process
from wagw_worker_whatsapp.bridge_process import BridgeError, BridgeGone, BridgeProcess, BridgeTimeout
from wagw_worker_whatsapp.bridge_program import BRIDGE_VERSION, checked_program
from wagw_worker_whatsapp.library import LibraryUnavailable

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

# Answers each request by its op: `echo` with its args, `refuse` with a typed error, `garble` with lines
# that are no reply before the real one, `events` with two events of the session, `hang` never, `exit` by ending.
STAND_IN = """
import json, sys
print(json.dumps({"event": "ready", "data": {"version": "stand-in"}}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    out = lambda value: print(json.dumps(value), flush=True)
    if req["op"] == "echo":
        out({"id": req["id"], "result": req["args"]})
    elif req["op"] == "refuse":
        out({"id": req["id"], "error": {"type": "send_refused", "message": "no"}})
    elif req["op"] == "garble":
        print("not json at all", flush=True)
        print("[1, 2]", flush=True)
        out({"id": 999999, "result": {}})
        out({"id": req["id"], "result": {"after": "garbage"}})
    elif req["op"] == "events":
        out({"event": "first", "session": req["session"], "data": {"n": 1}})
        out({"event": "second", "session": req["session"], "data": {"n": 2}})
        out({"event": "lost", "session": "s_nobody"})
        out({"id": req["id"], "result": {}})
    elif req["op"] == "hang":
        pass
    elif req["op"] == "exit":
        sys.exit(3)
"""


def program(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "stand-in"
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


@pytest.fixture
async def bridge(tmp_path):
    started = BridgeProcess(program(tmp_path, STAND_IN), "store")
    await started.start()
    yield started
    await started.stop()


async def test_replies_are_matched_to_their_requests(bridge):
    answers = await asyncio.gather(*(bridge.request("echo", "s_1", n=n) for n in range(20)))
    assert answers == [{"n": n} for n in range(20)]


async def test_a_typed_error_is_raised_with_its_type(bridge):
    with pytest.raises(BridgeError) as refused:
        await bridge.request("refuse", "s_1")
    assert (refused.value.kind, refused.value.message) == ("send_refused", "no")


async def test_lines_that_are_no_reply_are_skipped(bridge):
    assert await bridge.request("garble", "s_1") == {"after": "garbage"}
    assert await bridge.request("echo", "s_1", still="serving") == {"still": "serving"}


async def test_events_reach_their_sessions_sink_in_order_even_when_it_asks_the_program(bridge):
    heard = []

    async def sink(name, data):
        heard.append((name, data))
        if name == "first":  # a sink that waits on the program (a file's download) must not block the reading
            heard.append(("asked", await bridge.request("echo", "s_1", during="first")))

    bridge.subscribe("s_1", sink)
    await bridge.request("events", "s_1")
    async with asyncio.timeout(5):
        while len(heard) < 3:
            await asyncio.sleep(0.01)
    assert heard == [("first", {"n": 1}), ("asked", {"during": "first"}), ("second", {"n": 2})]


async def test_a_request_the_program_never_answers_times_out_and_the_rest_go_on(bridge, monkeypatch):
    monkeypatch.setattr(bridge_process, "REQUEST_TIMEOUT_SECONDS", 0.3)
    with pytest.raises(BridgeTimeout, match="did not answer hang"):
        await bridge.request("hang", "s_1")
    assert await bridge.request("echo", "s_1", n=1) == {"n": 1}


async def test_a_program_that_ends_fails_what_waits_and_tells_its_sessions(bridge):
    heard: asyncio.Queue = asyncio.Queue()
    bridge.subscribe("s_1", lambda name, data: heard.put((name, data)))
    with pytest.raises(BridgeGone):
        await bridge.request("exit", "s_1")
    async with asyncio.timeout(5):
        name, data = await heard.get()
    assert name == "ended" and "exit code 3" in data["reason"]
    with pytest.raises(BridgeGone):
        await bridge.request("echo", "s_1")


async def test_a_program_that_never_says_ready_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(bridge_process, "READY_TIMEOUT_SECONDS", 0.5)
    silent = BridgeProcess(program(tmp_path, "import time\ntime.sleep(60)\n"), "store")
    with pytest.raises(BridgeGone, match="did not start"):
        await silent.start()
    assert not silent.running


async def test_a_program_that_ends_at_once_is_refused(tmp_path):
    with pytest.raises(BridgeGone, match="did not start"):
        await BridgeProcess(program(tmp_path, "import sys\nsys.exit(1)\n"), "store").start()


def test_a_missing_program_or_one_of_another_version_stops_the_worker_with_what_to_do(tmp_path):
    with pytest.raises(LibraryUnavailable, match="missing: build it with tools/whatsmeow-bridge/build.sh"):
        checked_program(tmp_path / "nowhere")
    older = program(tmp_path, "print('wagw-whatsmeow 0.9.0 (whatsmeow v0.0.0-2025)')\n")
    with pytest.raises(LibraryUnavailable, match="needs 'wagw-whatsmeow 1.1.0"):
        checked_program(older)
    matching = program(tmp_path, f"print({BRIDGE_VERSION!r})\n")
    assert checked_program(matching) == matching


def test_the_worker_configured_for_whatsmeow_refuses_to_start_without_the_program(tmp_path):
    from wagw_common.settings import load

    from wagw_worker_whatsapp.__main__ import client_factory
    from wagw_worker_whatsapp.settings import Settings

    settings = load(Settings, {"WHATSAPP_CLIENT": "whatsmeow", "WHATSAPP_STORE": str(tmp_path / "credentials.db"),
                               "WHATSAPP_BRIDGE_PROGRAM": str(tmp_path / "wagw-whatsmeow")})
    with pytest.raises(LibraryUnavailable, match="wagw-whatsmeow is missing"):
        client_factory(settings)
