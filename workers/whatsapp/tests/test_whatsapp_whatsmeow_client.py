"""The client on the whatsmeow bridge with the program replaced by a recorder of its requests (the real
program is run in test_whatsapp_bridge_real.py): each operation the request it makes, sends with the
derived id and no record, messages the neonize adapter sent earlier still found (a repeat not sent, their
receipts and the targets naming them translated), the bridge's refusals as the interface's, and each
bridge event as the worker's (a linked device remembered for its session, a vote's options named, a
received file fetched through the bridge)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from wagw_worker_sdk import QueryRefused

from wagw_worker_whatsapp.bridge_process import BridgeError
from wagw_worker_whatsapp.client import (ConnectionFailed, Group, InboundMessage, LoggedOut, Member,
                                         Outbound, PairingRefused, PairSucceeded, QrShown, Receipt, SendRefused)
from wagw_worker_whatsapp.devices import directory_for
from wagw_worker_whatsapp.whatsmeow_client import WhatsmeowClientFactory
from wagw_worker_whatsapp.whatsmeow_events import EventContext, client_event

pytestmark = pytest.mark.unit
OURS = "WAGW00000000000000A1"  # derived from m_00000000000000a1


class RecordingBridge:
    """Stands in for the program: records each request, answers from `answers` (or raises a refusal)."""

    running = True

    def __init__(self):
        self.requests: list[tuple] = []
        self.answers: dict[str, object] = {}
        self.sinks: dict = {}

    async def request(self, op, session, **args):
        self.requests.append((op, session, args))
        answer = self.answers.get(op, {})
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def start(self):
        return None

    def subscribe(self, session, sink):
        self.sinks[session] = sink

    def unsubscribe(self, session):
        self.sinks.pop(session, None)


@pytest.fixture
def tables(tmp_path):
    return directory_for(str(tmp_path / "credentials.db"))


@pytest.fixture
def bridge(tables):
    return RecordingBridge()


@pytest.fixture
def client_of(tables, bridge, tmp_path):
    def make(session_id="s_1", events=None):
        factory = WhatsmeowClientFactory(str(tmp_path / "credentials.db"), tables, tmp_path / "program")
        factory.bridge = bridge
        heard = events if events is not None else []

        async def sink(event):
            heard.append(event)
        return factory.open(session_id, sink)
    return make


async def test_a_send_carries_the_derived_id_and_records_nothing(client_of, bridge, tables):
    client = client_of()
    assert await client.send("15552223333", Outbound(type="text", text="hi"), OURS) == OURS
    op, session, args = bridge.requests[-1]
    assert (op, session, args["to"], args["id"]) == ("send", "s_1", "15552223333", OURS)
    assert args["message"]["type"] == "text" and args["message"]["text"] == "hi"
    assert await tables.sent_as(OURS) is None


async def test_a_message_the_neonize_adapter_sent_is_not_sent_again_and_its_targets_are_translated(client_of, bridge,
                                                                                                   tables):
    await tables.record_sent(OURS, "3EB0NEONIZE")
    client = client_of()
    assert await client.send("15552223333", Outbound(type="text", text="again"), OURS) == OURS
    assert bridge.requests == []
    await client.send("15552223333", Outbound(type="reaction", emoji="👍", target_wa_message_id=OURS),
                      "WAGW00000000000000B2")
    message = bridge.requests[-1][2]["message"]
    assert message["target_wa_message_id"] == "3EB0NEONIZE" and message["target_ours"] is True
    await client.edit("15552223333", OURS, "fixed")
    await client.revoke("15552223333", OURS)
    assert [(op, args["id"]) for op, _, args in bridge.requests[-2:]] == [("edit", "3EB0NEONIZE"),
                                                                             ("revoke", "3EB0NEONIZE")]
    receipt = await client_event(EventContext("s_1", tables, bridge.request), "receipt",
                                 {"ids": ["3EB0NEONIZE", "WAGW00000000000000B2", "3EB0PHONE"], "status": "read"})
    assert receipt == Receipt((OURS, "WAGW00000000000000B2", "3EB0PHONE"), "read")


async def test_a_reaction_to_a_received_message_is_not_ours(client_of, bridge):
    await client_of().send("15552223333", Outbound(type="reaction", emoji="❤", target_wa_message_id="3EB0THEIRS"), OURS)
    message = bridge.requests[-1][2]["message"]
    assert message["target_wa_message_id"] == "3EB0THEIRS" and message["target_ours"] is False


async def test_a_sent_polls_options_are_recorded_for_its_votes(client_of, tables):
    poll = {"name": "Lunch?", "options": ["Tea", "Coffee"], "selectable_count": 1}
    await client_of().send("15552223333", Outbound(type="poll", poll=poll), OURS)
    assert await tables.poll_options(OURS) == ["Tea", "Coffee"]


async def test_the_bridges_refusals_are_the_interfaces(client_of, bridge):
    client = client_of()
    bridge.answers["send"] = BridgeError("send_refused", "image not sent: media not fetched: HTTP 404")
    with pytest.raises(SendRefused, match="HTTP 404"):
        await client.send("15552223333", Outbound(type="text", text="x"), OURS)
    bridge.answers["pair_phone"] = BridgeError("pairing_refused", "not a WhatsApp number")
    with pytest.raises(PairingRefused):
        await client.pair_phone("15552223333")
    bridge.answers["invite_link"] = BridgeError("forbidden", "WhatsApp refused it: 401")
    with pytest.raises(QueryRefused) as refused:
        await client.invite_link("1203@g.us")
    assert refused.value.code == "forbidden"
    bridge.answers["groups"] = BridgeError("unknown_session", "not connected here")
    with pytest.raises(QueryRefused) as failed:
        await client.groups()
    assert failed.value.code == "failed"


async def test_questions_are_answered_in_the_interfaces_terms(client_of, bridge):
    client = client_of()
    bridge.answers["groups"] = {"groups": [{"jid": "1203@g.us", "subject": "Team", "participants": [
        {"jid": "15552223333@s.whatsapp.net", "role": "admin"}]}]}
    assert await client.groups() == [Group("1203@g.us", "Team", (Member("15552223333@s.whatsapp.net", "admin"),))]
    bridge.answers["on_whatsapp"] = {"jid": None}
    assert await client.on_whatsapp("15550000000") is None
    bridge.answers["change_participants"] = {"outcomes": {"1@s.whatsapp.net": "done"}}
    assert await client.change_participants("1203@g.us", "add", ["1"]) == {"1@s.whatsapp.net": "done"}
    profile = {"jid": "1@s.whatsapp.net", "name": None, "about": "hi", "picture_url": None}
    bridge.answers["contact_profile"] = profile
    assert (await client.contact_profile("1@s.whatsapp.net")).about == "hi"


async def test_connect_subscribes_then_asks_with_the_stored_device(client_of, bridge, tables):
    await tables.remember("s_1", "0a0b")
    events: list = []
    await client_of(events=events).connect()
    assert bridge.requests[-1] == ("connect", "s_1", {"device_key": "0a0b"})
    await bridge.sinks["s_1"]("qr", {"code": "2@abc", "ttl_seconds": 60})
    await bridge.sinks["s_1"]("ended", {"reason": "the whatsmeow bridge ended (exit code -9)"})
    assert events == [QrShown("2@abc", 60.0), ConnectionFailed("the whatsmeow bridge ended (exit code -9)")]


async def test_pairing_remembers_the_device_and_a_logout_forgets_it(tables, bridge):
    context = EventContext("s_1", tables, bridge.request)
    assert await client_event(context, "pair_success", {"phone": "15550001111", "device_key": "0a0c"}) == \
        PairSucceeded("15550001111")
    assert await tables.find("s_1") == "0a0c"
    assert await client_event(context, "logged_out", {"reason": "primary device was logged out"}) == \
        LoggedOut("primary device was logged out")
    assert await tables.find("s_1") is None


async def test_logout_unlinks_with_the_stored_device_and_forgets_it_even_when_refused(client_of, bridge, tables):
    await tables.remember("s_1", "0a0b")
    bridge.answers["logout"] = BridgeError("failed", "credentials not deleted")
    with pytest.raises(BridgeError):
        await client_of().logout()
    assert bridge.requests[-1] == ("logout", "s_1", {"device_key": "0a0b"})
    assert await tables.find("s_1") is None


async def test_a_vote_is_named_by_the_polls_recorded_options(tables, bridge):
    await tables.record_poll(OURS, ["Tea", "Coffee"])
    tea = hashlib.sha256(b"Tea").hexdigest()
    data = {"wa_message_id": "3EB0VOTE", "chat": "1@s.whatsapp.net", "sender": "1@s.whatsapp.net", "type": "poll_vote",
            "text": "", "parts": {"poll_vote": {"wa_message_id": OURS, "option_hashes": [tea, "00"]}}}
    vote = await client_event(EventContext("s_1", tables, bridge.request), "message", data)
    assert isinstance(vote, InboundMessage) and vote.parts["poll_vote"] == {"wa_message_id": OURS, "options": ["Tea"]}
    data["parts"] = {"poll_vote": {"wa_message_id": "3EB0UNKNOWNPOLL", "option_hashes": [tea]}}
    assert await client_event(EventContext("s_1", tables, bridge.request), "message", data) is None


async def test_a_received_file_is_fetched_through_the_bridge(tables, bridge):
    bridge.answers["download"] = {"data": base64.b64encode(b"file bytes").decode()}
    data = {"wa_message_id": "3EB0IMG", "chat": "1@s.whatsapp.net", "sender": "1@s.whatsapp.net", "type": "image",
            "text": "cat", "parts": {"media": {"mimetype": "image/jpeg"}, "reply_to_wa_message_id": OURS},
            "media_ref": "cmVm"}
    context = EventContext("s_1", tables, lambda ref: bridge.request("download", "s_1", media_ref=ref))
    image = await client_event(context, "message", data)
    assert isinstance(image, InboundMessage) and image.fetch is not None
    assert await image.fetch() == b"file bytes"
    assert bridge.requests[-1] == ("download", "s_1", {"media_ref": "cmVm"})
    assert image.parts["reply_to_wa_message_id"] == OURS


async def test_an_event_a_newer_bridge_adds_is_left_out(tables, bridge):
    assert await client_event(EventContext("s_1", tables, bridge.request), "hologram", {}) is None
