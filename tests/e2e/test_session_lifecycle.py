"""Every session command and every message type against the running platform (one simulated
worker): the state machine's transitions and refusals, QR images, pairing codes, the tier limit
under concurrent creates, sending, history filters and pagination, inbound messages, delete."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.flows import inbound_messages, wait_until
from harness.sink import WebhookSink
from harness.tiers import set_tier

pytestmark = pytest.mark.e2e
DONE = {"sent", "delivered", "read"}


class Phone:
    """The simulated worker's control API: what the person with the phone does."""

    def __init__(self, http: aiohttp.ClientSession, url: str):
        self.http, self.url = http, url

    async def post(self, path: str, **kwargs) -> dict:
        async with self.http.post(self.url + path, **kwargs) as response:
            body = await response.json(content_type=None)
            assert response.status in (200, 202), (path, response.status, body)
            return body


async def _status(api, token, session_id, *wanted, timeout=20.0) -> dict:
    async def reached():
        _, body, _ = await api.request("GET", f"/sessions/{session_id}", token=token, expect=200)
        return body["session"]["status"] in wanted and body["session"]
    return await wait_until(reached, timeout=timeout)


async def _message(api, token, message_id, wanted=DONE, timeout=60.0) -> dict:
    last = {}

    async def reached():
        status, body, _ = await api.request("GET", f"/messages/{message_id}", token=token)
        last.update(status=status, body=body)
        return status == 200 and body["message"]["status"] in wanted and body["message"]
    try:
        return await wait_until(reached, timeout=timeout)
    except TimeoutError:
        raise AssertionError(f"{message_id} never reached {sorted(wanted)}: {last}") from None


@pytest.fixture
async def world(platform):
    worker_id = next(iter(platform.workers))
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        await set_tier(platform, customer.email, "PRO")
        yield api, customer.token, Phone(http, platform.worker_url(worker_id)), worker_id, customer


async def _connected(api, token, phone, name="line") -> tuple[str, str]:
    _, created, _ = await api.request("POST", "/sessions", token=token, json={"name": name}, expect=201)
    session_id = created["session"]["session_id"]
    await api.request("POST", f"/sessions/{session_id}/connect", token=token, expect=202)
    await _status(api, token, session_id, "QR_REQUIRED")
    await phone.post(f"/sessions/{session_id}/scan")
    await _status(api, token, session_id, "CONNECTED")
    return session_id, created["api_key"]


async def test_tier_limit_holds_under_20_concurrent_creates(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        await set_tier(platform, customer.email, "PRO")  # 5 sessions
        answers = await asyncio.gather(*(
            api.request("POST", "/sessions", token=customer.token, json={"name": f"s{i}"}) for i in range(20)))
        statuses = sorted(status for status, _, _ in answers)
        assert statuses.count(201) == 5 and statuses.count(403) == 15, statuses
        assert {body["error"]["code"] for status, body, _ in answers if status == 403} == {"limit_exceeded"}
        _, listed, _ = await api.request("GET", "/sessions", token=customer.token, expect=200)
        assert len(listed["sessions"]) == 5


async def test_qr_flow_with_images_then_every_command_and_its_refusals(world):
    api, token, phone, worker_id, _ = world
    _, created, _ = await api.request("POST", "/sessions", token=token, json={"name": "Support"}, expect=201)
    sid = created["session"]["session_id"]
    assert created["session"]["status"] == "DISCONNECTED"
    status, body, _ = await api.request("GET", f"/sessions/{sid}/qr", token=token)
    assert status == 404 and body["error"]["code"] == "no_qr"
    _, connecting, _ = await api.request("POST", f"/sessions/{sid}/connect", token=token, expect=202)
    assert connecting["session"]["status"] == "CONNECTING" and connecting["session"]["worker_id"] == worker_id
    await _status(api, token, sid, "QR_REQUIRED")
    _, raw, _ = await api.request("GET", f"/sessions/{sid}/qr", token=token, expect=200)
    assert raw["qr"] and raw["expires_at"]
    for kind, magic, content_type in (("png", b"\x89PNG", "image/png"), ("svg", b"<svg", "image/svg+xml")):
        async with api.http.get(f"{api.base}/sessions/{sid}/qr", params={"format": kind},
                                headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200 and response.content_type == content_type
            assert (await response.read()).startswith(magic)
    status, body, _ = await api.request("GET", f"/sessions/{sid}/qr?format=gif", token=token)
    assert status in (400, 422), body

    # An illegal command answers 409 with the current status.
    status, body, _ = await api.request("POST", f"/sessions/{sid}/connect", token=token)
    assert status == 409 and body["error"]["details"]["status"] == "QR_REQUIRED"
    await phone.post(f"/sessions/{sid}/scan")
    await _status(api, token, sid, "CONNECTED")

    _, renamed, _ = await api.request("PATCH", f"/sessions/{sid}", token=token,
                                      json={"name": "Sales", "description": "team B"}, expect=200)
    assert (renamed["session"]["name"], renamed["session"]["description"]) == ("Sales", "team B")

    _, restarted, _ = await api.request("POST", f"/sessions/{sid}/restart", token=token, expect=202)
    assert restarted["session"]["status"] == "RECONNECTING"
    await _status(api, token, sid, "CONNECTED")

    # The phone loses its connection (worker report), then a restart restores it.
    await phone.post(f"/sessions/{sid}/disconnect")
    await _status(api, token, sid, "DISCONNECTED")
    await api.request("POST", f"/sessions/{sid}/restart", token=token, expect=202)
    await _status(api, token, sid, "CONNECTED")

    _, stopped, _ = await api.request("POST", f"/sessions/{sid}/disconnect", token=token, expect=200)
    assert stopped["session"]["status"] == "DISCONNECTED" and stopped["session"]["worker_id"] is None
    status, body, _ = await api.request("POST", f"/sessions/{sid}/disconnect", token=token)
    assert status == 409 and body["error"]["details"]["status"] == "DISCONNECTED"

    _, out, _ = await api.request("POST", f"/sessions/{sid}/logout", token=token, expect=200)
    assert out["session"]["status"] == "LOGGED_OUT" and out["session"]["phone"] is None
    status, body, _ = await api.request("POST", f"/sessions/{sid}/restart", token=token)
    assert status == 409 and body["error"]["details"]["status"] == "LOGGED_OUT"
    await api.request("POST", f"/sessions/{sid}/connect", token=token, expect=202)
    await _status(api, token, sid, "QR_REQUIRED")  # logged out: a new QR, no restore

    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)
    status, body, _ = await api.request("GET", f"/sessions/{sid}", token=token)
    assert status == 404
    status, body, _ = await api.request("DELETE", f"/sessions/{sid}", token=token)
    assert status == 404


async def test_pairing_code_connect(world):
    api, token, phone, _, _ = world
    _, created, _ = await api.request("POST", "/sessions", token=token, json={"name": "Paired"}, expect=201)
    sid = created["session"]["session_id"]
    status, body, _ = await api.request("POST", f"/sessions/{sid}/pair", token=token, json={"phone": "+1234"})
    assert status in (400, 422) and "phone" in body["error"]["details"], body
    await api.request("POST", f"/sessions/{sid}/pair", token=token, json={"phone": "+62 812-3456-789"}, expect=202)

    async def code_shown():
        _, body, _ = await api.request("GET", f"/sessions/{sid}", token=token, expect=200)
        return body["session"]["pairing_code"]

    code = await wait_until(code_shown)
    await phone.post(f"/sessions/{sid}/pairing-code", json={"code": code})
    session = await _status(api, token, sid, "CONNECTED")
    assert session["pairing_code"] is None
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)


async def test_every_message_type_inbound_filters_and_pagination(world):
    api, token, phone, _, _ = world
    sid, key = await _connected(api, token, phone, "Messaging")
    to = "+62 812-3456-789"
    bodies = {
        "text": {"to": to, "text": "hello"},
        "image": {"to": to, "type": "image", "text": "a photo",
                  "media": {"url": "https://example.com/a.jpg", "mimetype": "image/jpeg"}},
        "video": {"to": to, "type": "video", "media": {"url": "https://example.com/a.mp4"}},
        "audio": {"to": to, "type": "audio", "media": {"url": "https://example.com/a.ogg"}},
        "document": {"to": to, "type": "document", "text": "invoice",
                     "media": {"url": "https://example.com/a.pdf", "filename": "invoice.pdf"}},
        "location": {"to": to, "type": "location", "location": {"latitude": -6.2, "longitude": 106.8, "name": "HQ"}},
        "contact": {"to": to, "type": "contact", "contact": {"name": "Budi", "phone": "+628111222333"}},
    }
    ids = {}
    for kind, body in bodies.items():
        _, accepted, _ = await api.request("POST", "/send", api_key=key, json=body, expect=202)
        ids[kind] = accepted["message_id"]
    # A reaction and a reply right after their targets' sends, without waiting: one session's sends
    # are handled in the order they were accepted, so the targets are stored first.
    _, accepted, _ = await api.request("POST", "/send", api_key=key, json={
        "to": to, "type": "reaction", "reaction": {"message_id": ids["text"], "emoji": "👍"}}, expect=202)
    ids["reaction"] = accepted["message_id"]
    _, accepted, _ = await api.request("POST", "/send", api_key=key, json={
        "to": to, "text": "replying", "reply_to": ids["image"]}, expect=202)
    ids["reply"] = accepted["message_id"]
    for message_id in ids.values():
        message = await _message(api, token, message_id)
        assert message["chat"] == "628123456789@s.whatsapp.net", message
    image = await _message(api, token, ids["image"])
    assert image["type"] == "image" and image["media"]["url"] == "https://example.com/a.jpg"
    assert image["text"] == "a photo"
    assert (await _message(api, token, ids["reply"]))["reply_to"] == ids["image"]

    # Invalid input is refused at the edge with the reason.
    for bad in ({"to": "+1234", "text": "x"}, {"to": to, "type": "image"}, {"to": to, "type": "location",
                                                                          "location": {"latitude": 99,
                                                                                       "longitude": 0}}):
        status, body, _ = await api.request("POST", "/send", api_key=key, json=bad)
        assert status in (400, 422), body
    # A reply to a message the session does not have fails with a reason.
    _, accepted, _ = await api.request("POST", "/send", api_key=key, json={"to": to, "text": "?", "reply_to": "m_nope"},
                                       expect=202)
    failed = await _message(api, token, accepted["message_id"], {"failed"})
    assert failed["timeline"][-1]["reason"] == "reply_target_not_found"

    # Inbound.
    await phone.post(f"/sessions/{sid}/inbound", json={"text": "hi there", "chat": "628999888777@s.whatsapp.net"})

    [received] = await wait_until(lambda: inbound_messages(api, token, sid))
    assert received["text"] == "hi there" and received["status"] == "received"
    _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=token,
                                   params={"chat": "+628999888777"}, expect=200)
    assert [m["message_id"] for m in page["messages"]] == [received["message_id"]]
    _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=token,
                                   params={"status": "failed"}, expect=200)
    assert [m["message_id"] for m in page["messages"]] == [accepted["message_id"]]

    # Pagination: pages of 3 walk the whole history once, newest first.
    _, everything, _ = await api.request("GET", f"/sessions/{sid}/messages", token=token,
                                         params={"limit": "200"}, expect=200)
    seen, cursor = [], None
    while True:
        params = {"limit": "3", **({"before": cursor} if cursor else {})}
        _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=token, params=params, expect=200)
        seen += [m["message_id"] for m in page["messages"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [m["message_id"] for m in everything["messages"]] and len(seen) == len(ids) + 2

    # Not connected: a send is refused at once (409, with the status), or waits when asked to and goes
    # out on the next connect.
    await api.request("POST", f"/sessions/{sid}/disconnect", token=token, expect=200)
    status, refused, _ = await api.request("POST", "/send", api_key=key, json={"to": to, "text": "now?"})
    assert status == 409 and refused["error"]["code"] == "session_not_connected", refused
    assert refused["error"]["details"]["status"] == "DISCONNECTED"
    status, refused, _ = await api.request("POST", f"/sessions/{sid}/messages", token=token,
                                           json={"to": to, "text": "now?"})
    assert status == 409 and refused["error"]["code"] == "session_not_connected", refused
    _, waiting, _ = await api.request("POST", "/send", api_key=key, json={"to": to, "text": "later", "queue": True},
                                      expect=202)
    assert (await _message(api, token, waiting["message_id"], {"queued"}))["status"] == "queued"
    await api.request("POST", f"/sessions/{sid}/restart", token=token, expect=202)
    await _status(api, token, sid, "CONNECTED")
    await _message(api, token, waiting["message_id"])
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)


def _sends_seen_by(platform, worker_id: str) -> list[str]:
    """The message ids the simulated worker sent, in its own order (it takes one command at a time)."""
    import json

    sent = []
    for line in platform.workers[worker_id].log_path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "simulator.message_sent":
            sent.append(record.get("message_id"))
    return sent


async def test_rapid_sends_reach_the_worker_in_order_and_replies_find_their_target(world, platform):
    api, token, phone, worker_id, _ = world
    sid, key = await _connected(api, token, phone, "Ordered")
    to = "+62 812-3456-789"
    accepted = []
    for n in range(20):  # back to back, no waiting: each POST answers once the broker has the command
        _, body, _ = await api.request("POST", "/send", api_key=key, json={"to": to, "text": f"#{n}"}, expect=202)
        accepted.append(body["message_id"])
        if n % 5 == 0:  # a reply and a reaction to the message just accepted, at once
            _, reply, _ = await api.request("POST", "/send", api_key=key, expect=202,
                                            json={"to": to, "text": "re", "reply_to": body["message_id"]})
            _, reaction, _ = await api.request("POST", "/send", api_key=key, expect=202, json={
                "to": to, "type": "reaction", "reaction": {"message_id": body["message_id"], "emoji": "👍"}})
            accepted += [reply["message_id"], reaction["message_id"]]
    for message_id in accepted:
        message = await _message(api, token, message_id)
        assert "failed" not in [step["status"] for step in message["timeline"]], message

    async def all_seen():
        seen = [m for m in _sends_seen_by(platform, worker_id) if m in set(accepted)]
        return len(seen) == len(accepted) and seen

    assert await wait_until(all_seen, timeout=30) == accepted
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)


async def test_a_deleted_sessions_keys_stop_working(world):
    api, token, phone, _, _ = world
    sid, key = await _connected(api, token, phone, "Short-lived")
    _, user_key, _ = await api.request("POST", "/api-keys", token=token, expect=201, json={
        "name": "bound", "scopes": ["messages:send", "messages:read"], "session_id": sid})
    await api.request("POST", "/send", api_key=key, json={"to": "+62 812-3456-789", "text": "bye"}, expect=202)
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)
    for secret in (key, user_key["api_key"]):
        status, body, _ = await api.request("POST", "/send", api_key=secret,
                                            json={"to": "+62 812-3456-789", "text": "after"})
        assert status == 401, body
    _, listed, _ = await api.request("GET", "/api-keys", token=token, expect=200)
    assert sid not in {k.get("session_id") for k in listed["keys"]}


async def test_received_media_replies_reactions_edits_and_deletions_reach_history_and_webhooks(world):
    api, token, phone, _, _ = world
    sid, _ = await _connected(api, token, phone, "Inbox")
    sink = WebhookSink()
    await sink.start()
    try:
        await api.request("POST", "/webhooks", token=token, expect=201,
                          json={"url": sink.url, "events": ["message.received", "message.edited", "message.deleted"],
                                "session_id": sid})
        photo = {"mimetype": "image/jpeg", "size": 48213, "sha256": "9f" * 32, "filename": "receipt.jpg"}
        image = await phone.post(f"/sessions/{sid}/inbound", json={"type": "image", "text": "the receipt",
                                                                   "media": photo})
        hooked = await sink.wait_for(lambda r: r.payload["type"] == "message.received", timeout=30)
        received = hooked.payload["data"]
        assert received["type"] == "image" and received["media"] == {**photo, "ptt": False}, received
        assert received["text"] == "the receipt" and "url" not in received["media"]  # described, never the bytes
        image_id = received["message_id"]
        await phone.post(f"/sessions/{sid}/inbound", json={"text": "did it arrive?",
                                                           "reply_to_wa_message_id": image["wa_message_id"]})
        await phone.post(f"/sessions/{sid}/inbound", json={"type": "reaction",
                                                           "reaction": {"wa_message_id": image["wa_message_id"],
                                                                        "emoji": "👍"}})
        await phone.post(f"/sessions/{sid}/inbound", json={"type": "location",
                                                           "location": {"latitude": -6.2, "longitude": 106.8}})

        async def all_stored():
            _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=token,
                                           params={"direction": "inbound"}, expect=200)
            return len(page["messages"]) == 4 and {m["type"]: m for m in page["messages"]}

        stored = await wait_until(all_stored, timeout=30)
        assert stored["text"]["reply_to"] == image_id and stored["reaction"]["reaction"] == {
            "message_id": image_id, "emoji": "👍"}
        assert stored["location"]["location"]["latitude"] == -6.2 and stored["image"]["media"]["sha256"] == "9f" * 32

        await phone.post(f"/sessions/{sid}/inbound/{image['wa_message_id']}/edit", json={"text": "the right receipt"})
        edited = await sink.wait_for(lambda r: r.payload["type"] == "message.edited", timeout=30)
        assert edited.payload["data"]["message_id"] == image_id
        assert edited.payload["data"]["text"] == "the right receipt"
        await phone.post(f"/sessions/{sid}/inbound/{image['wa_message_id']}/delete")
        deleted = await sink.wait_for(lambda r: r.payload["type"] == "message.deleted", timeout=30)
        assert deleted.payload["data"]["message_id"] == image_id
        message = await _message(api, token, image_id, {"received"})
        assert message["text"] == "the right receipt" and message["edited_at"] and message["deleted_at"], message
    finally:
        await sink.stop()
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)


async def test_a_sent_message_is_edited_then_revoked_and_what_whatsapp_refuses_is_a_409(world):
    api, token, phone, _, _ = world
    sid, key = await _connected(api, token, phone, "Corrections")
    _, accepted, _ = await api.request("POST", "/send", api_key=key, json={"to": "+628123456789", "text": "helo"},
                                       expect=202)
    message_id = accepted["message_id"]
    edit = f"/messages/{message_id}/edit"
    await _message(api, token, message_id)  # on WhatsApp: sent at least
    _, answered, _ = await api.request("POST", edit, api_key=key, json={"text": "hello"}, expect=202)
    assert answered["message"]["message_id"] == message_id

    async def edited():
        message = await _message(api, token, message_id)
        return message["edited_at"] and message

    assert (await wait_until(edited, timeout=30))["text"] == "hello"
    status, body, _ = await api.request("POST", edit, api_key=key, json={"text": ""})
    assert status == 422 and "text" in body["error"]["details"], body
    await api.request("POST", f"/messages/{message_id}/revoke", token=token, expect=202)

    async def deleted():
        return (await _message(api, token, message_id))["deleted_at"]

    await wait_until(deleted, timeout=30)
    status, body, _ = await api.request("POST", edit, api_key=key, json={"text": "again"})
    assert status == 409 and body["error"]["details"]["reason"] == "deleted", body

    # A received message is not the session's to change.
    await phone.post(f"/sessions/{sid}/inbound", json={"text": "mine"})

    async def inbound():
        _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=token,
                                       params={"direction": "inbound"}, expect=200)
        return page["messages"]

    [received] = await wait_until(inbound)
    status, body, _ = await api.request("POST", f"/messages/{received['message_id']}/revoke", token=token)
    assert status == 409 and body["error"]["details"]["reason"] == "received", body
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)


async def test_voice_notes_stickers_and_a_reply_to_a_hidden_lid_sender(world):
    api, token, phone, _, _ = world
    sid, key = await _connected(api, token, phone, "Voices")
    lid = "201234567890123@lid"
    await phone.post(f"/sessions/{sid}/inbound", json={"text": "who am I?", "chat": lid,
                                                       "sender_phone": "628555000111"})

    async def arrived():
        _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=token,
                                       params={"direction": "inbound"}, expect=200)
        return page["messages"]

    [received] = await wait_until(arrived)
    assert received["sender"] == lid and received["sender_phone"] == "628555000111", received
    sends = {
        "voice": {"to": received["chat"], "type": "audio", "reply_to": received["message_id"],
                  "media": {"url": "https://example.com/v.ogg", "mimetype": "audio/ogg", "ptt": True}},
        "sticker": {"to": received["chat"], "type": "sticker", "media": {"url": "https://example.com/s.webp"}},
    }
    for name, body in sends.items():
        _, accepted, _ = await api.request("POST", "/send", api_key=key, json=body, expect=202)
        message = await _message(api, token, accepted["message_id"])
        assert message["chat"] == lid and message["type"] == body["type"], (name, message)
    assert message["media"]["url"] == "https://example.com/s.webp"
    status, body, _ = await api.request("POST", "/send", api_key=key, json={
        "to": lid, "type": "sticker", "text": "no captions on stickers",
        "media": {"url": "https://example.com/s.webp"}})
    assert status == 422 and "text" in body["error"]["details"], body
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)


async def test_a_chat_is_marked_read_and_presence_shown_on_the_phone(world):
    api, token, phone, _, _ = world
    sid, key = await _connected(api, token, phone, "Presence")

    async def chats(unread, last_text):
        # The list is two reads (last messages, unread counts): a message stored between them may show
        # in one only, so both are waited for.
        _, listed, _ = await api.request("GET", f"/sessions/{sid}/chats", api_key=key, expect=200)
        return [(c["unread"], c["last_message"]["text"]) for c in listed["chats"]] == [(unread, last_text)] \
            and listed["chats"]

    for count, text in enumerate(("are you there?", "hello?"), 1):  # one stored before the next is written
        await phone.post(f"/sessions/{sid}/inbound", json={"text": text, "chat": "628123456789@s.whatsapp.net"})
        [chat] = await wait_until(lambda count=count, text=text: chats(count, text), timeout=30)
    assert chat["chat"] == "628123456789@s.whatsapp.net" and chat["last_message"]["direction"] == "inbound", chat
    await api.request("POST", f"/sessions/{sid}/chats/read", api_key=key, json={"chat": "+62 812-3456-789"}, expect=202)
    await wait_until(lambda: chats(0, "hello?"), timeout=30)
    _, shown, _ = await api.request("POST", f"/sessions/{sid}/presence", api_key=key, expect=202,
                                    json={"presence": "recording", "chat": "+62 812-3456-789"})
    assert shown == {"session_id": sid, "action": "presence", "chat": "628123456789@s.whatsapp.net",
                     "presence": "recording"}
    await api.request("POST", f"/sessions/{sid}/presence", token=token, json={"presence": "unavailable"}, expect=202)

    async def on_the_phone():
        async with phone.http.get(f"{phone.url}/sessions") as response:
            held = {s["session_id"]: s for s in (await response.json())["sessions"]}
        session = held.get(sid) or {}
        return session.get("presence", {}).get("*") == "unavailable" and session

    session = await wait_until(on_the_phone, timeout=30)
    assert session["chats_read"] == ["628123456789@s.whatsapp.net"]
    assert session["presence"]["628123456789@s.whatsapp.net"] == "recording"
    status, body, _ = await api.request("POST", f"/sessions/{sid}/presence", token=token, json={"presence": "typing"})
    assert status == 422 and "chat" in body["error"]["details"], body
    await api.request("POST", f"/sessions/{sid}/disconnect", token=token, expect=200)
    status, body, _ = await api.request("POST", f"/sessions/{sid}/chats/read", token=token,
                                        json={"chat": "+62 812-3456-789"})
    assert status == 409 and body["error"]["details"]["reason"] == "session_not_connected", body
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)


async def test_a_message_is_forwarded_once_per_idempotency_key_and_a_received_file_is_not(world):
    api, token, phone, _, _ = world
    sid, key = await _connected(api, token, phone, "Forwarding")
    _, accepted, _ = await api.request("POST", "/send", api_key=key, expect=202, json={
        "to": "+628123456789", "type": "location", "location": {"latitude": -6.2, "longitude": 106.8, "name": "HQ"}})
    # A send is stored after its 202 (the orchestrator's part): only a stored message can be forwarded.
    await _message(api, token, accepted["message_id"])
    forward = f"/messages/{accepted['message_id']}/forward"
    retry = {"Idempotency-Key": f"fwd-{sid}"}
    _, first, _ = await api.request("POST", forward, api_key=key, json={"to": "+628111222333"}, headers=retry,
                                    expect=202)
    _, again, _ = await api.request("POST", forward, api_key=key, json={"to": "+628111222333"}, headers=retry,
                                    expect=202)
    assert first["message_id"] == again["message_id"] != accepted["message_id"]
    forwarded = await _message(api, token, first["message_id"])
    assert forwarded["chat"] == "628111222333@s.whatsapp.net" and forwarded["location"]["name"] == "HQ"

    await phone.post(f"/sessions/{sid}/inbound", json={
        "type": "document", "media": {"mimetype": "application/pdf", "size": 10, "sha256": "ab" * 32}})

    async def received():
        _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=token,
                                       params={"direction": "inbound"}, expect=200)
        return page["messages"]

    [document] = await wait_until(received)
    status, body, _ = await api.request("POST", f"/messages/{document['message_id']}/forward", token=token,
                                        json={"to": "+628111222333"})
    assert status == 409 and body["error"]["details"]["reason"] == "media_not_stored", body
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)


async def test_a_poll_is_sent_and_its_votes_and_replies_to_it_name_it(world):
    api, token, phone, _, _ = world
    sid, key = await _connected(api, token, phone, "Polls")
    _, accepted, _ = await api.request("POST", "/send", api_key=key, expect=202, json={
        "to": "+628123456789", "type": "poll", "poll": {"name": "Lunch?", "options": ["Soto", "Rendang", "Gado-gado"],
                                                        "selectable_count": 2}})
    poll = await _message(api, token, accepted["message_id"])
    assert poll["poll"]["options"] == ["Soto", "Rendang", "Gado-gado"] and poll["wa_message_id"], poll
    await phone.post(f"/sessions/{sid}/inbound", json={
        "type": "poll_vote", "poll_vote": {"wa_message_id": poll["wa_message_id"], "options": ["Soto", "Rendang"]}})
    await phone.post(f"/sessions/{sid}/inbound", json={"text": "soto please",
                                                       "reply_to_wa_message_id": poll["wa_message_id"]})

    async def both_arrived():
        _, page, _ = await api.request("GET", f"/sessions/{sid}/messages", token=token,
                                       params={"direction": "inbound"}, expect=200)
        return len(page["messages"]) == 2 and {m["type"]: m for m in page["messages"]}

    arrived = await wait_until(both_arrived, timeout=30)
    assert arrived["poll_vote"]["poll_vote"] == {"message_id": poll["message_id"], "options": ["Soto", "Rendang"]}
    assert arrived["text"]["reply_to"] == poll["message_id"]
    await api.request("DELETE", f"/sessions/{sid}", token=token, expect=204)
