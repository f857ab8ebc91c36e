"""A file the contact sends: stored through the SDK into the real local object store, then reported
described, never carried."""

import hashlib
import uuid
from types import SimpleNamespace

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from harness.infra import OBJECT_STORE_URL
from wagw_common.object_store.media import inbound_key
from wagw_common.object_store.settings import ObjectStoreSettings
from wagw_common.settings import load
from wagw_worker_sdk import MediaStorage
from wagw_worker_simulator.control import create_control_app
from wagw_worker_simulator.whatsapp import SimulatedWhatsApp, Timing

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

# A 1x1 PNG: known by its bytes, whatever the sender says.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@pytest_asyncio.fixture
async def client(uplink):
    whatsapp = SimulatedWhatsApp(uplink, Timing(qr_refresh=60, status_delay=0))
    settings = load(ObjectStoreSettings, {"OBJECT_STORE_URL": OBJECT_STORE_URL,
                                          "MEDIA_BUCKET": f"t-{uuid.uuid4().hex[:10]}",
                                          "MEDIA_MAX_BYTES": "1024"})
    protocol = SimpleNamespace(worker_id="sim-worker-1", registered=True, unsure=None, connected=True)
    async with MediaStorage.opened(settings) as media:
        async with TestClient(TestServer(create_control_app(whatsapp, protocol, media))) as client:
            await whatsapp.start_session("s_1", restore=True)
            yield client, media
    await whatsapp.close()


async def test_a_sent_file_is_stored_then_reported_described(client, uplink):
    client, media = client
    response = await client.post("/sessions/s_1/inbound-media?caption=look&filename=dot.png", data=PNG)
    assert response.status == 202
    sha256 = hashlib.sha256(PNG).hexdigest()
    described = {"mimetype": "image/png", "size": len(PNG), "sha256": sha256, "filename": "dot.png", "ptt": False}
    assert (await response.json())["media"] == described
    *_, text, content = uplink.sent[-1]
    assert text == "look" and content == {"type": "image", "media": described}
    assert await media.store.get(inbound_key("s_1", sha256)) == (PNG, "image/png")


async def test_a_file_over_the_limit_is_refused_with_413_and_nothing_reported(client, uplink):
    client, _ = client
    before = len(uplink.sent)
    response = await client.post("/sessions/s_1/inbound-media", data=b"x" * 1025)
    assert response.status == 413 and (await response.json())["error"]["code"] == "too_large"
    assert len(uplink.sent) == before


async def test_a_store_that_is_away_at_start_does_not_stop_the_worker():
    settings = load(ObjectStoreSettings, {"OBJECT_STORE_URL": "http://127.0.0.1:9"})  # discard port: nothing listens
    async with MediaStorage.opened(settings) as media:
        assert media.max_bytes == settings.media_max_bytes
