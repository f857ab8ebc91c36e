"""The real WhatsApp worker on the whatsmeow bridge (`WHATSAPP_CLIENT=whatsmeow`, the program as built)
against the running platform, its credentials in a fresh PostgreSQL database: it starts the program,
registers, and a session's connect is answered live: whatsmeow cannot reach WhatsApp from here, and the
session's owner sees DISCONNECTED with whatsmeow's reason over Socket.IO. What only WhatsApp can show
(a QR from its servers, linking, a send repeated with the same id seen once) is the manual list in
docs/workers.md."""

from __future__ import annotations

import secrets
from pathlib import Path

import aiohttp
import psycopg
import pytest

from harness.api import GatewayClient
from harness.failover import HEARTBEAT, add_failover_fleet
from harness.fixtures import started_platform
from harness.infra import POSTGRES_SERVER
from harness.realtime import RealtimeListener

pytestmark = pytest.mark.e2e
WORKER = "wa-bridge-e2e"
PROGRAM = Path(__file__).resolve().parents[2] / ".local" / "bin" / "wagw-whatsmeow"


@pytest.fixture(scope="module")
def store():
    name = f"wagw_t_{secrets.token_hex(4)}"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield f"{POSTGRES_SERVER}/{name}?sslmode=disable"
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def run(store):
    def build(run) -> None:
        add_failover_fleet(run, workers=0)
        run.add_whatsapp_worker(WORKER, Path("unused"), WHATSAPP_CLIENT="whatsmeow", WHATSAPP_STORE=store,
                                WHATSAPP_BRIDGE_PROGRAM=str(PROGRAM), HEARTBEAT_INTERVAL_SECONDS=str(HEARTBEAT))

    with started_platform("wagw-wa-bridge", build) as started:
        yield started


async def test_a_session_on_the_bridge_worker_is_answered_live_with_whatsmeows_reason(run, store):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(run.url("gateway"), http)
        customer = await api.sign_up()
        listener = RealtimeListener(run.url("realtime"), customer.token)
        await listener.connect()
        try:
            _, created, _ = await api.request("POST", "/sessions", token=customer.token, json={"name": "bridge"},
                                              expect=201)
            session_id = created["session"]["session_id"]
            await api.request("POST", f"/sessions/{session_id}/connect", token=customer.token, expect=202)
            reported = await listener.wait_for(
                "session.status", lambda d: d["session_id"] == session_id and d["reason"], timeout=60)
        finally:
            await listener.close()
        _, view, _ = await api.request("GET", f"/sessions/{session_id}", token=customer.token, expect=200)
    assert view["session"]["worker_id"] == WORKER, view
    assert reported["status"] == "DISCONNECTED" and "WhatsApp cannot be reached" in reported["reason"], reported
    with psycopg.connect(store) as db:  # the program opened whatsmeow's store there
        assert db.execute("SELECT count(*) FROM whatsmeow_version").fetchone()
