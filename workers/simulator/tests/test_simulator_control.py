"""The control API over HTTP, with the simulated sessions behind it and an in-memory uplink."""

from types import SimpleNamespace

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from wagw_worker_simulator.control import create_control_app
from wagw_worker_simulator.whatsapp import SimulatedWhatsApp, Timing

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]


@pytest_asyncio.fixture
async def whatsapp(uplink):
    app = SimulatedWhatsApp(uplink, Timing(qr_refresh=60, status_delay=0))
    yield app
    await app.close()


@pytest_asyncio.fixture
async def client(whatsapp):
    protocol = SimpleNamespace(worker_id="sim-worker-1", registered=True, unsure=None, connected=True)
    async with TestClient(TestServer(create_control_app(whatsapp, protocol))) as client:
        yield client


async def error_of(response) -> tuple[int, str]:
    return response.status, (await response.json())["error"]["code"]


async def test_health_and_held_sessions(client, whatsapp):
    health = await (await client.get("/healthz")).json()
    assert health["registered"] is True and health["unsure"] is None
    assert (await client.get("/readyz")).status == 200
    await whatsapp.start_session("s_1", restore=False)
    body = await (await client.get("/sessions")).json()
    assert body["worker_id"] == "sim-worker-1"
    [session] = body["sessions"]
    assert (session["session_id"], session["status"]) == ("s_1", "QR_REQUIRED") and session["qr"].startswith("2@")


async def test_scan_connects_a_waiting_session_and_refuses_otherwise(client, whatsapp, uplink):
    assert await error_of(await client.post("/sessions/s_1/scan")) == (404, "not_found")
    await whatsapp.start_session("s_1", restore=False)
    response = await client.post("/sessions/s_1/scan")
    assert response.status == 200 and (await response.json())["status"] == "CONNECTED"
    assert uplink.kinds()[-1] == "status:CONNECTED"
    assert await error_of(await client.post("/sessions/s_1/scan")) == (409, "conflict")


async def test_inbound_is_published_for_a_connected_session_only(client, whatsapp, uplink):
    await whatsapp.start_session("s_1", restore=False)
    assert await error_of(await client.post("/sessions/s_1/inbound", json={"text": "hi"})) == (409, "conflict")
    await whatsapp.scan("s_1")
    response = await client.post("/sessions/s_1/inbound", json={"text": "hi", "sender": "628111@s.whatsapp.net"})
    assert response.status == 202
    assert uplink.sent[-1][0] == "inbound" and uplink.sent[-1][-3:-1] == ("628111@s.whatsapp.net", "hi")


async def test_any_message_type_arrives_and_is_edited_or_deleted_by_its_wa_id(client, whatsapp, uplink):
    await whatsapp.start_session("s_1", restore=True)
    voice = {"mimetype": "audio/ogg", "size": 5120, "sha256": "0f" * 32, "ptt": True}
    response = await client.post("/sessions/s_1/inbound", json={"type": "audio", "media": voice,
                                                                "reply_to_wa_message_id": "WA0"})
    assert response.status == 202
    wa_message_id = (await response.json())["wa_message_id"]
    *_, text, content = uplink.sent[-1]
    assert text is None and content == {"type": "audio", "media": {**voice, "filename": None},
                                        "reply_to_wa_message_id": "WA0"}
    assert (await client.post(f"/sessions/s_1/inbound/{wa_message_id}/edit", json={"text": "hi!"})).status == 202
    assert (await client.post(f"/sessions/s_1/inbound/{wa_message_id}/delete")).status == 202
    assert uplink.sent[-2:] == [("edited", "s_1", wa_message_id, "hi!"), ("deleted", "s_1", wa_message_id)]
    # A media type without its media, or media not described as the protocol asks, is refused.
    for bad in ({"type": "image"}, {"type": "sticker", "media": {**voice, "sha256": "nope"}}):
        assert await error_of(await client.post("/sessions/s_1/inbound", json=bad)) == (400, "invalid")
    assert await error_of(await client.post(f"/sessions/s_1/inbound/{wa_message_id}/edit", json={})) == (400, "invalid")


@pytest.mark.parametrize("body", [
    b"not json", b'{"text": ""}', b'{"txt": "hi"}', b'["hi"]', b'{"text": "hi", "chat": 5}',
])
async def test_a_bad_inbound_body_is_a_400(client, whatsapp, body):
    await whatsapp.start_session("s_1", restore=True)
    response = await client.post("/sessions/s_1/inbound", data=body, headers={"content-type": "application/json"})
    assert await error_of(response) == (400, "invalid")


async def test_disconnect_drops_a_held_session(client, whatsapp, uplink):
    assert await error_of(await client.post("/sessions/s_1/disconnect")) == (404, "not_found")
    await whatsapp.start_session("s_1", restore=True)
    assert (await client.post("/sessions/s_1/disconnect")).status == 200
    assert uplink.kinds()[-1] == "status:DISCONNECTED" and whatsapp.held_sessions() == []


async def test_an_invalid_session_id_or_route_is_a_404_in_the_error_envelope(client):
    assert await error_of(await client.post("/sessions/a%20b/scan")) == (404, "not_found")
    assert await error_of(await client.get("/nothing")) == (404, "not_found")
    assert await error_of(await client.get("/sessions/s_1/scan")) == (405, "method_not_allowed")


async def test_entering_the_pairing_code_connects_the_session(client, whatsapp, uplink):
    await whatsapp.start_session("s_1", restore=False, pairing_phone="628123456789")
    code = whatsapp.snapshot()[0]["pairing_code"]
    assert await error_of(await client.post("/sessions/s_1/pairing-code", json={"code": "ZZZZ-ZZZZ"})) == (409,
                                                                                                           "conflict")
    assert await error_of(await client.post("/sessions/s_1/pairing-code", json={"cod": code})) == (400, "invalid")
    response = await client.post("/sessions/s_1/pairing-code", json={"code": code})
    assert response.status == 200 and (await response.json())["status"] == "CONNECTED"
