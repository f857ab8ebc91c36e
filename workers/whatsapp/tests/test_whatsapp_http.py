"""The worker's HTTP server: health like every worker's, and the fake phone's routes with their errors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer

from wagw_worker_whatsapp.fake import FakeWhatsApp
from wagw_worker_whatsapp.http import create_http_app
from wagw_worker_whatsapp.sessions import WhatsAppSessions

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]
PROTOCOL = SimpleNamespace(worker_id="wa-worker-1", registered=True, unsure=None, connected=True)


@pytest.fixture
async def phone(tmp_path, uplink):
    world = FakeWhatsApp(store=tmp_path / "store")
    sessions = WhatsAppSessions(uplink, world)
    await sessions.start_session("s_1", restore=False)
    async with TestClient(TestServer(create_http_app(PROTOCOL, world))) as client:
        yield client, sessions


async def test_health_answers_and_the_phone_links_and_writes(phone, uplink):
    client, sessions = phone
    assert (await client.get("/readyz")).status == 200
    assert (await (await client.get("/healthz")).json())["worker_id"] == "wa-worker-1"
    assert (await client.post("/fake/sessions/s_1/scan")).status == 202
    assert sessions.held_sessions() == [{"session_id": "s_1", "status": "CONNECTED"}]
    answer = await client.post("/fake/sessions/s_1/inbound",
                               json={"text": "hi", "chat": "628111@s.whatsapp.net", "wa_message_id": "3A01"})
    assert answer.status == 202 and uplink.sent[-1][0] == "inbound"
    assert (await client.post("/fake/sessions/s_1/unlink")).status == 202
    assert sessions.held_sessions() == []


async def test_the_phones_mistakes_get_the_platforms_error_envelope(phone):
    client, _ = phone
    missing = await client.post("/fake/sessions/s_nope/scan")
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
    bad = await client.post("/fake/sessions/s_1/inbound", json={"text": ""})
    assert bad.status == 400 and "chat" in (await bad.json())["error"]["details"]
    wrong = await client.post("/fake/sessions/s_1/pairing-code", json={"code": "WRONG"})
    assert wrong.status == 409


async def test_without_the_fake_there_is_no_phone(tmp_path):
    async with TestClient(TestServer(create_http_app(PROTOCOL))) as client:
        assert (await client.post("/fake/sessions/s_1/scan")).status == 404
        assert (await client.get("/healthz")).status == 200
