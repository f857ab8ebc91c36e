"""The adapter on neonize's client: with the real library's message and event types, and neonize's client
replaced by a recorder of what it is asked (no WhatsApp here). Its answer to neonize 0.5.2 not letting a
message id be chosen (two workers on one store send a message once, ids translated both ways), and the
calls each command becomes (edit, revoke, poll and its votes, read, presence, voice notes, stickers)."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from wagw_worker_whatsapp import neonize_mapping as mapping
from wagw_worker_whatsapp.client import InboundMessage, Outbound, Receipt, SendRefused
from wagw_worker_whatsapp.devices import directory_for
from wagw_worker_whatsapp.ids import wa_message_id_for
from wagw_worker_whatsapp.neonize_client import NeonizeClientFactory

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]
TO = "628123456789@s.whatsapp.net"
ev, wa = mapping.ev, mapping.wa
ME = ev.JID(User="628000000001", Server="s.whatsapp.net")
CONTACT = ev.JID(User="628123456789", Server="s.whatsapp.net")


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

    # What the commands call, recorded by name with their arguments, as neonize's signatures have them.

    def _called(self, name, *args, **kwargs):
        self.calls = getattr(self, "calls", [])
        self.calls.append((name, args, kwargs))

    async def get_me(self):
        return SimpleNamespace(JID=ME)

    async def edit_message(self, chat, message_id, new_message):
        self._called("edit_message", chat, message_id, new_message)

    async def revoke_message(self, chat, sender, message_id):
        self._called("revoke_message", chat, sender, message_id)

    async def mark_read(self, *message_ids, chat, sender, receipt, timestamp=None):
        self._called("mark_read", *message_ids, chat=chat, sender=sender, receipt=receipt)

    async def send_chat_presence(self, jid, state, media):
        self._called("send_chat_presence", jid, state, media)

    async def send_presence(self, presence):
        self._called("send_presence", presence)

    async def build_audio_message(self, file, ptt=False, quoted=None):
        self._called("build_audio_message", file, ptt=ptt)
        return wa.Message(audioMessage=wa.AudioMessage(URL="https://mmg.whatsapp.net/x", PTT=ptt))

    async def build_sticker_message(self, file, quoted=None, name="", packname="", crop=False,
                                    enforce_not_broken=False, animated_gif=False, passthrough=False):
        if file.endswith(".exe"):
            raise ValueError("not an image")  # as neonize's conversion fails on what is not one
        return wa.Message(stickerMessage=wa.StickerMessage(mimetype="image/webp"))

    async def build_poll_vote_creation(self, name, options, selectable_count, quoted=None):
        self._called("build_poll_vote_creation", name, options, selectable_count)
        return wa.Message(pollCreationMessage=wa.PollCreationMessage(
            name=name, options=[wa.PollCreationMessage.Option(optionName=o) for o in options]))

    async def decrypt_poll_vote(self, message):
        return wa.PollVoteMessage(selectedOptions=[hashlib.sha256(b"Coffee").digest()])


def worker(store: str, events: list, library: RecordingNeonize):
    async def sink(event):
        events.append(event)
    client = NeonizeClientFactory(store, directory_for(store)).open("s_1", sink)
    client.client = library
    return client


async def sent_then_another_worker(tmp_path, message_id: str):
    """A text sent by one worker (whatsmeow chose id 3EB0…01), and another worker on the same store."""
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    derived = wa_message_id_for(message_id)
    await worker(store, [], library).send(TO, Outbound("text", "hello"), derived)
    events: list = []
    return derived, events, worker(store, events, library)


async def test_a_send_repeated_on_another_worker_is_not_sent_again(tmp_path):
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    derived = wa_message_id_for("m_00000000000000a1")
    first, second = worker(store, [], library), worker(store, [], library)
    assert await first.send(TO, Outbound("text", "hello"), derived) == derived
    assert await second.send(TO, Outbound("text", "hello"), derived) == derived
    assert len(library.sent) == 1
    assert library.sent[0][1].extendedTextMessage.text == "hello"


async def test_receipts_of_whatsmeows_ids_come_back_as_the_derived_ids_on_any_worker(tmp_path):
    derived, events, other = await sent_then_another_worker(tmp_path, "m_00000000000000a2")
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


def received(part, *, chat=CONTACT, sender=CONTACT, wa_id="3A5F00D1"):
    return ev.Message(Info=ev.MessageInfo(MessageSource=ev.MessageSource(Chat=chat, Sender=sender), ID=wa_id),
                      Message=part)


async def test_an_edit_and_a_revoke_name_the_id_whatsmeow_sent_the_message_with(tmp_path):
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    client = worker(store, [], library)
    derived = wa_message_id_for("m_00000000000000b1")
    await client.send(TO, Outbound("text", "helo"), derived)
    await worker(store, [], library).edit(TO, derived, "hello")  # on any worker: the id is in the shared store
    await client.revoke(TO, derived)
    (_, (chat, edited_id, new), _), (_, (chat2, sender, revoked_id), _) = library.calls
    assert (chat.User, edited_id, new.conversation) == ("628123456789", "3EB00000000000000001", "hello")
    assert (chat2.User, sender, revoked_id) == ("628123456789", ME, "3EB00000000000000001")


async def test_a_poll_is_built_by_whatsmeow_and_a_vote_on_it_is_named_on_another_worker(tmp_path):
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    poll = {"name": "Drink?", "options": ["Tea", "Coffee"], "selectable_count": 1}
    derived = wa_message_id_for("m_00000000000000b2")
    await worker(store, [], library).send(TO, Outbound("poll", poll=poll), derived)
    [(name, args, _)] = library.calls
    assert (name, args[:2], args[2].name) == ("build_poll_vote_creation", ("Drink?", ["Tea", "Coffee"]), "SINGLE")
    assert library.sent[0][1].pollCreationMessage.name == "Drink?"

    events: list = []
    vote = wa.PollUpdateMessage(pollCreationMessageKey=mapping.MessageKey(ID="3EB00000000000000001"))
    await worker(store, events, library)._on_library_event(None, received(wa.Message(pollUpdateMessage=vote)))
    [voted] = events
    assert (voted.type, voted.parts["poll_vote"]) == ("poll_vote", {"wa_message_id": derived, "options": ["Coffee"]})
    unknown = wa.PollUpdateMessage(pollCreationMessageKey=mapping.MessageKey(ID="3EB0NEVERRECORDED"))
    await worker(store, events, library)._on_library_event(None, received(wa.Message(pollUpdateMessage=unknown)))
    assert events == [voted]  # not reported as a withdrawn vote


async def test_a_reply_and_a_reaction_to_our_message_name_it_by_the_derived_id(tmp_path):
    derived, events, other = await sent_then_another_worker(tmp_path, "m_00000000000000b3")
    quoted = wa.ContextInfo(stanzaID="3EB00000000000000001")
    await other._on_library_event(None, received(wa.Message(extendedTextMessage=wa.ExtendedTextMessage(
        text="hi back", contextInfo=quoted))))
    reaction = wa.ReactionMessage(key=mapping.MessageKey(ID="3EB00000000000000001"), text="❤")
    await other._on_library_event(None, received(wa.Message(reactionMessage=reaction), wa_id="3A5F00D2"))
    assert events[0].parts == {"reply_to_wa_message_id": derived}
    assert events[1].parts == {"reaction": {"wa_message_id": derived, "emoji": "❤"}}


async def test_a_read_marks_what_arrived_in_that_chat_each_sender_once(tmp_path):
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    events: list = []
    client = worker(store, events, library)
    group = ev.JID(User="120363000000000001", Server="g.us")
    member = ev.JID(User="628777", Server="s.whatsapp.net")
    for wa_id, chat, sender in (("A1", CONTACT, CONTACT), ("A2", CONTACT, CONTACT), ("G1", group, member)):
        event = received(wa.Message(conversation="hi"), chat=chat, sender=sender, wa_id=wa_id)
        event.Info.MessageSource.IsGroup = chat is group
        await client._on_library_event(None, event)
    assert all(isinstance(event, InboundMessage) for event in events)
    await client.mark_read(TO)
    await client.mark_read(TO)  # nothing new since: nothing to tell
    [(name, ids, kwargs)] = library.calls
    assert (name, ids, kwargs["chat"], kwargs["sender"], kwargs["receipt"].name) == (
        "mark_read", ("A1", "A2"), CONTACT, CONTACT, "READ")


@pytest.mark.parametrize("presence, chat, call", [
    ("typing", TO, ("send_chat_presence", "CHAT_PRESENCE_COMPOSING", "CHAT_PRESENCE_MEDIA_TEXT")),
    ("recording", TO, ("send_chat_presence", "CHAT_PRESENCE_COMPOSING", "CHAT_PRESENCE_MEDIA_AUDIO")),
    ("paused", TO, ("send_chat_presence", "CHAT_PRESENCE_PAUSED", "CHAT_PRESENCE_MEDIA_TEXT")),
    ("available", None, ("send_presence", "AVAILABLE")),
    ("unavailable", None, ("send_presence", "UNAVAILABLE")),
])
async def test_each_presence_is_whatsmeows(tmp_path, presence, chat, call):
    library = RecordingNeonize()
    await worker(str(tmp_path / "credentials.db"), [], library).send_presence(presence, chat)
    [(name, args, _)] = library.calls
    assert (name, *[arg.name for arg in args if hasattr(arg, "name")]) == call
    if chat:
        assert args[0].User == "628123456789"


async def test_a_voice_note_is_uploaded_as_ptt_and_a_sticker_that_cannot_be_made_is_refused(tmp_path):
    store, library = str(tmp_path / "credentials.db"), RecordingNeonize()
    client = worker(store, [], library)
    note = Outbound("audio", media={"url": "https://example.com/v.ogg", "ptt": True})
    await client.send(TO, note, wa_message_id_for("m_00000000000000b4"))
    assert library.calls == [("build_audio_message", ("https://example.com/v.ogg",), {"ptt": True})]
    assert library.sent[0][1].audioMessage.PTT is True
    await client.send(TO, Outbound("sticker", media={"url": "https://example.com/s.webp"}),
                      wa_message_id_for("m_00000000000000b5"))
    assert library.sent[1][1].stickerMessage.mimetype == "image/webp"
    with pytest.raises(SendRefused, match="sticker not sent: not an image"):
        await client.send(TO, Outbound("sticker", media={"url": "https://example.com/a.exe"}),
                          wa_message_id_for("m_00000000000000b6"))
