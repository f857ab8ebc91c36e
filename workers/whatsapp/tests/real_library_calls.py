"""The adapter's calls made into the real library (neonize 0.5.2's Go build), on a client that could not
reach WhatsApp (no machine here can): every argument it builds must be one neonize can hand to whatsmeow
(its JID is proto2 with required fields: one left unset fails before WhatsApp is asked), and whatsmeow's
refusals must come back as the worker's own (`QueryRefused` `failed` with whatsmeow's reason, a send's
`SendRefused`), never as a crash. A received file whose download fails is still reported, described."""

from __future__ import annotations

import asyncio

import pytest

from wagw_worker_whatsapp.client import ConnectionFailed, InboundMessage, Outbound, SendRefused
from wagw_worker_whatsapp.devices import directory_for
from wagw_worker_whatsapp.received_media import with_stored_media
from wagw_worker_whatsapp.sessions import HeldSession, WhatsAppSessions

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
GROUP = "120363025246125486@g.us"


@pytest.fixture
async def unreachable(tmp_path):
    """A real client whose connection to WhatsApp failed, as the worker holds it."""
    from wagw_worker_whatsapp.neonize_client import NeonizeClientFactory  # loads the library, after its checks

    store = str(tmp_path / "credentials.db")
    events: asyncio.Queue = asyncio.Queue()
    client = NeonizeClientFactory(store, directory_for(store)).open("s_real", events.put)
    await client.connect()
    async with asyncio.timeout(60):
        assert isinstance(await events.get(), ConnectionFailed)
    yield client
    await client.disconnect()


@pytest.mark.parametrize("query, args", [
    ("check_number", {"phone": "+628123456789"}), ("contact_profile", {"contact": "628123456789"}),
    ("contact_profile", {"contact": "190000000000001@lid"}), ("own_profile", {}), ("groups", {}),
    ("group_create", {"subject": "Launch", "participants": ["628123456789"]}),
    ("group_participants", {"group": GROUP, "action": "promote", "participants": ["628123456789"]}),
    ("group_invite", {"group": GROUP}), ("group_leave", {"group": GROUP}),
])
async def test_each_question_reaches_whatsmeow_and_its_refusal_is_said(unreachable, uplink, asker_of, query, args):
    sessions = WhatsAppSessions(uplink, factory=None)
    sessions.sessions["s_real"] = HeldSession("s_real", unreachable, status="CONNECTED")
    error = (await asker_of(sessions)(query, session_id="s_real", **args))["error"]
    assert error["code"] == "failed" and error["message"] != "the worker could not answer", error  # whatsmeow's reason


async def test_a_send_reaches_whatsmeow_and_is_refused_with_its_reason(unreachable):
    with pytest.raises(SendRefused, match="device JID"):
        await unreachable.send("+628123456789", Outbound("text", "hello"), "WAGW00000000000000C1")


async def test_a_file_whatsmeow_cannot_download_is_reported_as_described(unreachable):
    from wagw_worker_whatsapp.neonize_mapping import wa

    described = {"mimetype": "image/jpeg", "size": 10, "sha256": "ab" * 32, "filename": None, "ptt": False}
    image = wa.Message(imageMessage=wa.ImageMessage(mimetype="image/jpeg", fileLength=10))

    async def fetch():
        return await unreachable.client.download_any(image)  # as the adapter's fetch calls it

    class Storage:
        max_bytes = 1_000_000

        async def store_media(self, *args, **kwargs):
            raise AssertionError("nothing to store: the download failed")

    message = InboundMessage("3A01", "628123456789@s.whatsapp.net", "628123456789@s.whatsapp.net", "image", "",
                             {"media": described}, fetch=fetch)
    assert await with_stored_media(Storage(), "s_real", message) == {"media": described}
