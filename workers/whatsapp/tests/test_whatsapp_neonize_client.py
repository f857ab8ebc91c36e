"""The adapter's answer to neonize 0.5.2 not letting a message id be chosen: with the real library's
message and event types, and neonize's client replaced by a recorder of what it is asked to send (no
WhatsApp here), two workers on one store send a message once, and ids are translated both ways."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from wagw_worker_whatsapp import neonize_mapping as mapping
from wagw_worker_whatsapp.client import Outbound, Receipt
from wagw_worker_whatsapp.devices import directory_for
from wagw_worker_whatsapp.ids import wa_message_id_for
from wagw_worker_whatsapp.neonize_client import NeonizeClientFactory

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]
TO = "628123456789@s.whatsapp.net"


class RecordingNeonize:
    """Stands in for neonize's NewAClient: whatsmeow picks each id, as neonize 0.5.2 makes it."""

    def __init__(self):
        self.sent: list[tuple] = []

    async def logout(self):
        raise RuntimeError("not connected")  # neonize's LogoutError when WhatsApp cannot be told

    async def stop(self):
        self.stopped = True

    async def send_message(self, chat, message):
        self.sent.append((chat, message))
        return SimpleNamespace(ID=f"3EB0{len(self.sent):016X}")


def worker(store: str, events: list, library: RecordingNeonize):
    async def sink(event):
        events.append(event)
    client = NeonizeClientFactory(store, directory_for(store)).open("s_1", sink)
    client.client = library
    return client


async def test_a_send_repeated_on_another_worker_is_not_sent_again(tmp_path):
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    derived = wa_message_id_for("m_00000000000000a1")
    first, second = worker(store, [], library), worker(store, [], library)
    assert await first.send(TO, Outbound("text", "hello"), derived) == derived
    assert await second.send(TO, Outbound("text", "hello"), derived) == derived
    assert len(library.sent) == 1
    assert library.sent[0][1].extendedTextMessage.text == "hello"


async def test_receipts_of_whatsmeows_ids_come_back_as_the_derived_ids_on_any_worker(tmp_path):
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    derived = wa_message_id_for("m_00000000000000a2")
    await worker(store, [], library).send(TO, Outbound("text", "hello"), derived)
    events: list = []
    other = worker(store, events, library)
    receipt = mapping.ev.Receipt(MessageIDs=["3EB00000000000000001", "3AFROMTHEPHONE"], Type=mapping.ev.Receipt.READ)
    await other._on_library_event(None, receipt)
    assert events == [Receipt((derived, "3AFROMTHEPHONE"), "read")]


async def test_a_reaction_and_a_reply_to_our_message_name_the_id_whatsmeow_sent_it_with(tmp_path):
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    client = worker(store, [], library)
    target = wa_message_id_for("m_00000000000000a3")
    await client.send(TO, Outbound("text", "hello"), target)
    await client.send(TO, Outbound("reaction", emoji="👍", target_wa_message_id=target),
                      wa_message_id_for("m_00000000000000a4"))
    await client.send(TO, Outbound("text", "re", quoted_wa_message_id=target), wa_message_id_for("m_00000000000000a5"))
    assert library.sent[1][1].reactionMessage.key.ID == "3EB00000000000000001"
    assert library.sent[1][1].reactionMessage.key.fromMe is True
    assert library.sent[2][1].extendedTextMessage.contextInfo.stanzaID == "3EB00000000000000001"


async def test_a_logout_forgets_the_device_even_when_whatsapp_cannot_be_told(tmp_path):
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    client = worker(store, [], library)
    await client.factory.devices.remember("s_1", "0a0b")
    await client.logout()
    assert not await client.has_credentials() and library.stopped
