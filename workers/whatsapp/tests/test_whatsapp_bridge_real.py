"""The whatsmeow bridge program as built (tools/whatsmeow-bridge/build.sh), run by the worker's client on
the local PostgreSQL (a database per test): it starts and stops, opens whatsmeow's store there (the same
tables neonize's whatsmeow keeps), finds no credentials in a fresh store, answers typed errors and keeps
serving, reports a connection that cannot be made (no machine here reaches WhatsApp) instead of hanging,
and a program killed under its sessions ends them with `ConnectionFailed`."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psycopg
import pytest

from wagw_worker_whatsapp.bridge_process import BridgeError, BridgeGone
from wagw_worker_whatsapp.bridge_program import checked_program
from wagw_worker_sdk import QueryRefused

from wagw_worker_whatsapp.client import ConnectionFailed, InboundMessage, Outbound, SendRefused
from wagw_worker_whatsapp.devices import directory_for
from wagw_worker_whatsapp.whatsmeow_client import WhatsmeowClientFactory
from wagw_worker_whatsapp.whatsmeow_events import EventContext, client_event

pytestmark = [pytest.mark.integration, pytest.mark.asyncio, pytest.mark.timeout(120)]
PROGRAM = Path(__file__).resolve().parents[3] / ".local" / "bin" / "wagw-whatsmeow"


@pytest.fixture
async def factory(store_url):
    made = WhatsmeowClientFactory(store_url, directory_for(store_url), checked_program(PROGRAM))
    yield made
    await made.aclose()


async def next_event(events: asyncio.Queue, seconds: float = 60):
    async with asyncio.timeout(seconds):
        return await events.get()


async def test_the_program_starts_opens_whatsmeows_store_in_postgresql_and_stops(factory, store_url):
    bridge = await factory.running()
    assert bridge.running
    async with await psycopg.AsyncConnection.connect(store_url) as db:
        tables = {row[0] for row in await (await db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).fetchall()}
    assert {"whatsmeow_device", "whatsmeow_sessions", "whatsmeow_identity_keys"} <= tables
    await factory.aclose()
    assert not bridge.running and bridge.process is not None and bridge.process.returncode == 0


async def test_a_fresh_store_has_no_credentials(factory):
    assert not await factory.open("s_new", asyncio.Queue().put).has_credentials()


async def test_connecting_without_whatsapp_reports_a_failure_instead_of_hanging(factory):
    events: asyncio.Queue = asyncio.Queue()
    client = factory.open("s_real", events.put)
    await client.connect()
    try:
        event = await next_event(events)
        assert isinstance(event, ConnectionFailed) and "whatsapp" in event.reason.lower(), event
    finally:
        await client.disconnect()


async def test_the_program_answers_typed_errors_and_keeps_serving(factory):
    bridge = await factory.running()
    client = factory.open("s_not_connected", asyncio.Queue().put)
    with pytest.raises(BridgeError) as refused:
        await client.send("15552223333", Outbound(type="text", text="hi"), "WAGW0123456789ABCDEF")
    assert refused.value.kind == "unknown_session"
    with pytest.raises(BridgeError) as unknown:
        await bridge.request("teleport", "s_1")
    assert unknown.value.kind == "unknown_op"
    with pytest.raises(BridgeError) as bad:
        await bridge.request("connect", "s_1", device_key="not hex")
    assert bad.value.kind == "bad_request"
    assert await bridge.request("disconnect", "s_1") == {}  # still serving


async def test_a_killed_program_ends_its_sessions_with_connection_failed(factory):
    events: asyncio.Queue = asyncio.Queue()
    client = factory.open("s_killed", events.put)
    await client.connect()
    assert isinstance(await next_event(events), ConnectionFailed)  # WhatsApp cannot be reached from here
    await client.connect()  # held again by the program, still trying
    await next_event(events)
    bridge = factory.bridge
    assert bridge.process is not None
    os.kill(bridge.process.pid, signal.SIGKILL)
    event = await next_event(events, 10)
    assert isinstance(event, ConnectionFailed) and "exit code -9" in event.reason, event
    with pytest.raises(BridgeGone):
        await client.mark_read("15552223333@s.whatsapp.net")
    await client.connect()  # the next session start runs the program again
    assert factory.bridge.running


async def test_the_worker_on_the_bridge_reports_a_session_whatsapp_cannot_reach_disconnected(factory, uplink):
    from wagw_common.contracts.session_statuses import SessionStatus

    from wagw_worker_whatsapp.sessions import WhatsAppSessions

    sessions = WhatsAppSessions(uplink, factory)
    await sessions.start_session("s_1", restore=False)
    async with asyncio.timeout(60):
        while not any(item[0] == "status" and item[2] == SessionStatus.DISCONNECTED for item in uplink.sent):
            await uplink.changed.wait()
            uplink.changed.clear()
    reason = next(item[3] for item in uplink.sent if item[0] == "status" and item[2] == SessionStatus.DISCONNECTED)
    assert "WhatsApp cannot be reached" in reason
    assert "s_1" not in sessions.sessions  # given up here: the platform decides where it goes next
    await sessions.start_session("s_2", restore=True)  # nothing stored to restore
    assert uplink.sent[-1][:4] == ("status", "s_2", SessionStatus.LOGGED_OUT, "no stored credentials to restore")


async def test_neonizes_whatsmeow_and_the_bridge_share_one_store(store_url, factory):
    """The same whatsmeow (the bridge's go.mod pins neonize's build): a store made by one is opened by the
    other without a schema upgrade in between either way."""
    from wagw_worker_whatsapp.neonize_client import NeonizeClientFactory  # loads the library, after its checks

    events: asyncio.Queue = asyncio.Queue()
    neonize = NeonizeClientFactory(store_url, directory_for(store_url)).open("s_neonize", events.put)
    await neonize.connect()
    try:
        assert isinstance(await next_event(events), ConnectionFailed)
    finally:
        await neonize.disconnect()
    async with await psycopg.AsyncConnection.connect(store_url) as db:
        before = await (await db.execute("SELECT version, compat FROM whatsmeow_version")).fetchall()
    await factory.running()  # opens (and would upgrade) the same store
    async with await psycopg.AsyncConnection.connect(store_url) as db:
        after = await (await db.execute("SELECT version, compat FROM whatsmeow_version")).fetchall()
    assert before == after and before


async def test_logging_out_a_session_never_linked_completes_and_forgets_it(factory):
    events: asyncio.Queue = asyncio.Queue()
    linking = factory.open("s_linking", events.put)
    await linking.connect()
    await linking.logout()  # held by the program, never linked: nothing to unlink
    await factory.open("s_nothing", events.put).logout()  # held nowhere, nothing stored
    assert not await linking.has_credentials()
    assert await factory.bridge.request("disconnect", "s_linking") == {}  # no longer held, still serving


async def test_a_send_and_every_question_reach_whatsmeow_and_come_back_refused_with_its_reason(factory):
    events: asyncio.Queue = asyncio.Queue()
    client = factory.open("s_offline", events.put)
    await client.connect()
    await next_event(events)  # WhatsApp cannot be reached: the client is held, not connected
    with pytest.raises(SendRefused, match="the store doesn.t contain a device JID"):  # never linked
        await client.send("15552223333", Outbound(type="text", text="hi"), "WAGW0123456789ABCDEF")
    with pytest.raises(SendRefused, match="image not sent: media not fetched"):
        await client.send("15552223333", Outbound(type="image", media={"url": "http://127.0.0.1:9/none.png"}),
                          "WAGW0123456789ABCDF0")
    questions = [lambda: client.on_whatsapp("15552223333"), lambda: client.contact_profile("15552223333@lid"),
                 client.own_profile, client.groups, lambda: client.create_group("Team", ["15552223333"]),
                 lambda: client.invite_link("1203@g.us"),
                 lambda: client.change_participants("1203@g.us", "add", ["15552223333"]),
                 lambda: client.leave_group("1203@g.us")]
    for question in questions:
        with pytest.raises(QueryRefused) as refused:
            await question()
        assert refused.value.code == "failed" and refused.value.message, refused.value.message
    received = InboundMessage("3EB0IMG", "15552223333@s.whatsapp.net", "15552223333@s.whatsapp.net", "image", "",
                              {"media": {}})
    context = EventContext("s_offline", factory.devices, lambda ref: factory.bridge.request(
        "download", "s_offline", media_ref=ref))
    image = await client_event(context, "message", {**received.__dict__, "fetch": None, "media_ref": "CgA="})
    assert isinstance(image, InboundMessage) and image.fetch is not None
    with pytest.raises(BridgeError, match="not downloaded"):
        await image.fetch()
    await client.disconnect()


async def test_the_program_ends_when_its_worker_is_killed(store_url):
    """A worker killed with SIGKILL leaves no program holding its sessions' connections (the worker that
    takes them over would otherwise fight it for each device: stream replaced)."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from wagw_worker_whatsapp.bridge_process import BridgeProcess\n"
        "async def main():\n"
        f"    bridge = BridgeProcess(Path({str(PROGRAM)!r}), {store_url!r})\n"
        "    await bridge.start()\n"
        "    print('program pid', bridge.process.pid, flush=True)\n"
        "    await asyncio.sleep(600)\n"
        "asyncio.run(main())\n",
        stdout=asyncio.subprocess.PIPE)
    assert worker.stdout is not None
    async with asyncio.timeout(30):
        while not (line := (await worker.stdout.readline()).decode()).startswith("program pid"):
            assert line, "the worker ended before starting the program"
    program_pid = int(line.split()[-1])
    worker.kill()
    await worker.wait()
    async with asyncio.timeout(10):
        while Path(f"/proc/{program_pid}").exists() and "Z" not in _state(program_pid):
            await asyncio.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"
