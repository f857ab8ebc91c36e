"""A received file stored before its message is reported: the fake phone sends the bytes, the worker
fetches them as it would from WhatsApp, stores them through the SDK's `MediaStorage` (here over a bucket
in memory) and reports the stored file's description; a file it cannot keep still has its message
reported, described as WhatsApp told it."""

from __future__ import annotations

import hashlib

import pytest
from wagw_common.object_store.media import inbound_key

from wagw_worker_sdk import MediaStorage
from wagw_worker_whatsapp.client import InboundMessage
from wagw_worker_whatsapp.fake import FakeWhatsApp
from wagw_worker_whatsapp.sessions import WhatsAppSessions

pytestmark = pytest.mark.unit
JPEG = b"\xff\xd8\xff\xe0" + b"a photo" * 64
CHAT = "628999888777@s.whatsapp.net"


class Bucket:
    """The object store's part `MediaStorage` uses, in memory."""

    def __init__(self, down: bool = False):
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.down = down

    async def exists(self, key: str) -> bool:
        if self.down:
            raise ConnectionError("the object store is down")
        return key in self.objects

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = (data, content_type)


async def receiving(uplink, tmp_path, bucket: Bucket, max_bytes: int = 1 << 20):
    world = FakeWhatsApp(store=tmp_path / "credentials", receipt_delay=0)
    sessions = WhatsAppSessions(uplink, world, media=MediaStorage(bucket, max_bytes))
    await sessions.start_session("s_1", restore=False)
    await world.scan("s_1")
    uplink.sent.clear()
    return world


async def test_a_received_image_is_stored_then_reported_with_the_stored_files_description(uplink, tmp_path):
    bucket = Bucket()
    world = await receiving(uplink, tmp_path, bucket)
    await world.send_file("s_1", JPEG, chat=CHAT, type="image", text="the receipt", mimetype="image/jpeg")
    sha256 = hashlib.sha256(JPEG).hexdigest()
    assert bucket.objects[inbound_key("s_1", sha256)] == (JPEG, "image/jpeg")
    [(kind, session_id, _, chat, _, text, content)] = uplink.sent
    assert (kind, session_id, chat, text, content["type"]) == ("inbound", "s_1", CHAT, "the receipt", "image")
    assert content["media"] == {"mimetype": "image/jpeg", "size": len(JPEG), "sha256": sha256, "filename": None,
                                "ptt": False}


async def test_a_voice_note_keeps_whatsapps_mimetype_and_ptt(uplink, tmp_path):
    world = await receiving(uplink, tmp_path, Bucket())
    await world.send_file("s_1", b"OggS" + b"\0" * 60, chat=CHAT, type="audio", mimetype="audio/ogg; codecs=opus",
                          ptt=True)
    media = uplink.sent[-1][6]["media"]
    assert (media["mimetype"], media["ptt"]) == ("audio/ogg; codecs=opus", True)


@pytest.mark.parametrize("bucket, max_bytes", [(Bucket(down=True), 1 << 20), (Bucket(), 16)])
async def test_a_file_that_cannot_be_stored_still_has_its_message_reported(uplink, tmp_path, bucket, max_bytes):
    world = await receiving(uplink, tmp_path, bucket, max_bytes)
    await world.send_file("s_1", JPEG, chat=CHAT, type="document", mimetype="application/pdf", filename="a.pdf")
    [(kind, *_, content)] = uplink.sent
    assert kind == "inbound" and not bucket.objects
    assert content["media"]["sha256"] == hashlib.sha256(JPEG).hexdigest()  # as WhatsApp described it
    assert content["media"]["filename"] == "a.pdf"


async def test_a_file_whatsapp_says_is_too_large_is_not_even_downloaded(uplink, tmp_path):
    bucket = Bucket()
    world = await receiving(uplink, tmp_path, bucket, max_bytes=16)
    fetched = []

    async def fetch():
        fetched.append(True)
        return JPEG
    too_large = {"mimetype": "video/mp4", "size": 2 * 1024**3, "sha256": "ab" * 32, "filename": None, "ptt": False}
    await world.clients["s_1"].emit(InboundMessage("3A02", CHAT, CHAT, "video", "", {"media": too_large}, fetch=fetch))
    assert uplink.sent[-1][6]["media"] == too_large and not fetched and not bucket.objects
