"""The real WhatsApp worker (its fake client selected by configuration, no phone) against the running
platform: two worker processes sharing one credential store. Link by QR and by pairing code, send each
message type the contracts allow and see it read, edit and revoke a sent message, mark a chat read and
show presences, receive every type into history (and a contact's edit and deletion), receive a file
whose download link serves its bytes, answer every worker question asked over the gateway's routes, log
out, and a session that survives its worker being killed (failover, restored from the shared store
without a scan) and a graceful restart."""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
from pathlib import Path

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.failover import HEARTBEAT, add_failover_fleet
from harness.fixtures import started_platform
from harness.flows import inbound_messages, wait_until
from harness.tiers import set_tier
from wagw_worker_whatsapp.ids import wa_message_id_for

pytestmark = pytest.mark.e2e
WORKERS = ("wa-e2e-1", "wa-e2e-2")
TO = "+62 812-3456-789"
READ = {"read"}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _build(run, store: Path) -> None:
    add_failover_fleet(run, workers=0)
    for worker_id in WORKERS:
        run.add_whatsapp_worker(worker_id, store, HEARTBEAT_INTERVAL_SECONDS=str(HEARTBEAT), WORKER_CAPACITY="20")


@pytest.fixture(scope="module")
def run():
    store = Path(tempfile.mkdtemp(prefix="wagw-wa-store-"))
    try:
        with started_platform("wagw-whatsapp", functools.partial(_build, store=store)) as started:
            started.store = store
            yield started
    finally:
        shutil.rmtree(store, ignore_errors=True)


@pytest.fixture
async def world(run):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(run.url("gateway"), http)
        customer = await api.sign_up()
        await set_tier(run, customer.email, "PRO")
        yield api, customer.token, http


async def _session(api, token, session_id, *wanted, timeout=30.0) -> dict:
    async def reached():
        status, body, _ = await api.request("GET", f"/sessions/{session_id}", token=token)
        return status == 200 and body["session"]["status"] in wanted and body["session"]
    return await wait_until(reached, timeout=timeout)


async def _phone(http, run, worker_id: str, path: str, **kwargs) -> None:
    async with http.post(f"{run.worker_url(worker_id)}/fake{path}", **kwargs) as response:
        assert response.status == 202, (path, response.status, await response.text())


async def _linked(api, token, http, run, name: str) -> tuple[str, str, dict]:
    _, created, _ = await api.request("POST", "/sessions", token=token, json={"name": name}, expect=201)
    session_id = created["session"]["session_id"]
    await api.request("POST", f"/sessions/{session_id}/connect", token=token, expect=202)
    waiting = await _session(api, token, session_id, "QR_REQUIRED")
    assert waiting["worker_id"] in WORKERS and waiting["qr"] == f"fake-qr:{session_id}"
    await _phone(http, run, waiting["worker_id"], f"/sessions/{session_id}/scan")
    connected = await _session(api, token, session_id, "CONNECTED")
    assert connected["phone"]
    return session_id, created["api_key"], connected


async def _message(api, token, message_id, wanted) -> dict:
    async def reached():
        status, body, _ = await api.request("GET", f"/messages/{message_id}", token=token)
        return status == 200 and body["message"]["status"] in wanted and body["message"]
    return await wait_until(reached, timeout=60)


async def test_link_by_qr_send_every_type_see_it_read_and_receive(run, world):
    api, token, http = world
    session_id, key, session = await _linked(api, token, http, run, "Real worker")
    media = {"url": "https://example.com/a.pdf", "filename": "a.pdf"}
    bodies = [
        {"to": TO, "text": "hello"},
        {"to": TO, "type": "image", "text": "a photo", "media": {"url": "https://example.com/a.jpg"}},
        {"to": TO, "type": "video", "media": {"url": "https://example.com/a.mp4"}},
        {"to": TO, "type": "audio", "media": {"url": "https://example.com/a.ogg"}},
        {"to": TO, "type": "document", "text": "invoice", "media": media},
        {"to": TO, "type": "location", "location": {"latitude": -6.2, "longitude": 106.8}},
        {"to": TO, "type": "contact", "contact": {"name": "Budi", "phone": "+628111222333"}},
        {"to": TO, "type": "audio", "media": {"url": "https://example.com/v.ogg", "ptt": True}},
        {"to": TO, "type": "sticker", "media": {"url": "https://example.com/s.webp"}},
        {"to": TO, "type": "poll", "poll": {"name": "Lunch?", "options": ["Soto", "Sate"], "selectable_count": 1}},
    ]
    ids = []
    for body in bodies:
        _, accepted, _ = await api.request("POST", "/send", api_key=key, json=body, expect=202)
        ids.append(accepted["message_id"])
    _, accepted, _ = await api.request("POST", "/send", api_key=key, json={
        "to": TO, "type": "reaction", "reaction": {"message_id": ids[0], "emoji": "👍"}}, expect=202)
    ids.append(accepted["message_id"])
    for message_id in ids:  # the fake phone's receipts (delivered, read) found their platform message
        message = await _message(api, token, message_id, READ)
        assert {"delivered", "read"} <= {step["status"] for step in message["timeline"]}, message
        assert message["wa_message_id"] == wa_message_id_for(message_id), message  # told with "sent"

    await _phone(http, run, session["worker_id"], f"/sessions/{session_id}/inbound",
                 json={"text": "hi there", "chat": "628999888777@s.whatsapp.net", "wa_message_id": "3A11"})

    [received] = await wait_until(lambda: inbound_messages(api, token, session_id))
    assert received["text"] == "hi there" and received["chat"] == "628999888777@s.whatsapp.net"


async def _shown(http, run, worker_id: str, session_id: str, wanted: list) -> bool:
    async with http.get(f"{run.worker_url(worker_id)}/fake/sessions/{session_id}/shown") as response:
        shown = (await response.json())["shown"]
    return all(item in shown for item in wanted) and shown


async def test_a_sent_message_is_edited_and_revoked_a_chat_read_and_presences_shown(run, world):
    api, token, http = world
    session_id, key, session = await _linked(api, token, http, run, "Corrections")
    _, accepted, _ = await api.request("POST", "/send", api_key=key, json={"to": TO, "text": "helo"}, expect=202)
    message_id = accepted["message_id"]
    await _message(api, token, message_id, READ)
    await api.request("POST", f"/messages/{message_id}/edit", api_key=key, json={"text": "hello"}, expect=202)

    async def changed(field):
        message = await _message(api, token, message_id, READ)
        return message[field] and message

    assert (await wait_until(lambda: changed("edited_at")))["text"] == "hello"
    await api.request("POST", f"/messages/{message_id}/revoke", api_key=key, expect=202)
    await wait_until(lambda: changed("deleted_at"))
    chat = "628123456789@s.whatsapp.net"
    await api.request("POST", f"/sessions/{session_id}/chats/read", api_key=key, json={"chat": TO}, expect=202)
    await api.request("POST", f"/sessions/{session_id}/presence", api_key=key, expect=202,
                      json={"presence": "recording", "chat": TO})
    await api.request("POST", f"/sessions/{session_id}/presence", api_key=key, json={"presence": "unavailable"},
                      expect=202)
    derived = wa_message_id_for(message_id)
    wanted = [["edited", derived, "hello"], ["revoked", derived], ["read", chat], ["presence", "recording", chat],
              ["presence", "unavailable", None]]
    assert await wait_until(lambda: _shown(http, run, session["worker_id"], session_id, wanted), timeout=30)


async def test_every_inbound_type_reaches_history_and_a_contacts_edit_and_deletion_change_it(run, world):
    api, token, http = world
    session_id, key, session = await _linked(api, token, http, run, "Inbox")
    _, accepted, _ = await api.request("POST", "/send", api_key=key, expect=202, json={
        "to": TO, "type": "poll", "poll": {"name": "Lunch?", "options": ["Soto", "Sate"]}})
    poll_id = accepted["message_id"]
    await _message(api, token, poll_id, READ)
    ours = wa_message_id_for(poll_id)  # how the contact's phone names our poll
    chat = "628999888777@s.whatsapp.net"
    described = {"size": 4096, "sha256": "9f" * 32}
    written = {
        "image": {"text": "the receipt", "media": {"mimetype": "image/jpeg", **described}},
        "video": {"media": {"mimetype": "video/mp4", **described}},
        "audio": {"media": {"mimetype": "audio/ogg; codecs=opus", "ptt": True, **described}},
        "document": {"text": "invoice", "media": {"mimetype": "application/pdf", "filename": "a.pdf", **described}},
        "sticker": {"media": {"mimetype": "image/webp", **described}},
        "location": {"location": {"latitude": -6.2, "longitude": 106.8, "name": "Monas"}},
        "contact": {"contact": {"name": "Budi", "phone": "628111222333"}},
        "reaction": {"reaction": {"wa_message_id": ours, "emoji": "👍"}},
        "text": {"text": "which one?", "reply_to_wa_message_id": ours},
        "poll": {"poll": {"name": "Dinner?", "options": ["Nasi", "Mie"], "selectable_count": 1}},
        "poll_vote": {"poll_vote": {"wa_message_id": ours, "options": ["Sate"]}},
    }
    for number, (kind, parts) in enumerate(written.items()):
        await _phone(http, run, session["worker_id"], f"/sessions/{session_id}/inbound",
                     json={"type": kind, "chat": chat, "wa_message_id": f"3A{number:02d}", **parts})
    await _phone(http, run, session["worker_id"], f"/sessions/{session_id}/inbound", json={
        "text": "hidden", "chat": "201234567890123@lid", "wa_message_id": "3A99", "sender_phone": "628555000111"})

    async def all_stored():
        messages = await inbound_messages(api, token, session_id)
        return len(messages) == len(written) + 1 and {m["wa_message_id"]: m for m in messages}

    stored = await wait_until(all_stored, timeout=60)
    by_type = {m["type"]: m for m in stored.values() if m["wa_message_id"] != "3A99"}
    assert set(by_type) == set(written)
    assert by_type["image"]["media"]["sha256"] == "9f" * 32 and by_type["image"]["text"] == "the receipt"
    assert by_type["audio"]["media"]["ptt"] is True and by_type["document"]["media"]["filename"] == "a.pdf"
    assert by_type["contact"]["contact"] == {"name": "Budi", "phone": "628111222333"}
    assert by_type["reaction"]["reaction"] == {"message_id": poll_id, "emoji": "👍"}
    assert by_type["text"]["reply_to"] == poll_id
    assert by_type["poll_vote"]["poll_vote"] == {"message_id": poll_id, "options": ["Sate"]}
    assert by_type["poll"]["poll"]["options"] == ["Nasi", "Mie"]
    assert stored["3A99"]["sender_phone"] == "628555000111" and stored["3A99"]["sender"] == "201234567890123@lid"

    await _phone(http, run, session["worker_id"], f"/sessions/{session_id}/inbound/3A00/edit",
                 json={"text": "the right receipt"})
    await _phone(http, run, session["worker_id"], f"/sessions/{session_id}/inbound/3A00/delete")

    async def changed():
        message = await _message(api, token, by_type["image"]["message_id"], {"received"})
        return message["edited_at"] and message["deleted_at"] and message

    assert (await wait_until(changed, timeout=30))["text"] == "the right receipt"


async def test_a_received_file_is_stored_by_the_worker_and_its_link_serves_the_bytes(run, world):
    api, token, http = world
    session_id, _, session = await _linked(api, token, http, run, "Files")
    await _phone(http, run, session["worker_id"], f"/sessions/{session_id}/inbound-media", data=PNG,
                 params={"type": "image", "caption": "the receipt", "mimetype": "image/png", "wa_message_id": "3AF1"})
    [received] = await wait_until(lambda: inbound_messages(api, token, session_id), timeout=30)
    assert received["type"] == "image" and received["text"] == "the receipt"
    assert received["media"]["sha256"] == hashlib.sha256(PNG).hexdigest() and received["media"]["size"] == len(PNG)
    _, link, _ = await api.request("GET", f"/messages/{received['message_id']}/media-link", token=token, expect=200)
    async with http.get(run.url("gateway") + link["url"]) as response:  # the link is the key
        assert response.status == 200 and response.content_type == "image/png"
        assert await response.read() == PNG


async def test_every_worker_question_is_answered_by_the_sessions_whatsapp_worker(run, world):
    api, token, http = world
    session_id, key, session = await _linked(api, token, http, run, "Questions")
    base = f"/sessions/{session_id}"
    _, found, _ = await api.request("GET", f"{base}/contacts/check?phone=%2B628123456789", api_key=key, expect=200)
    assert found == {"phone": "+628123456789", "exists": True, "jid": "628123456789@s.whatsapp.net"}
    _, missing, _ = await api.request("GET", f"{base}/contacts/check?phone=628123456780", api_key=key, expect=200)
    assert missing["exists"] is False and missing["jid"] is None
    _, profile, _ = await api.request("GET", f"{base}/contacts/628123456789/profile", api_key=key, expect=200)
    assert profile["name"] == "Contact 6789" and profile["picture_url"].startswith("https://")
    await api.request("GET", f"{base}/contacts/628123456780/profile", api_key=key, expect=404)
    _, own, _ = await api.request("GET", f"{base}/profile", api_key=key, expect=200)
    assert own["jid"] == f"{session['phone']}@s.whatsapp.net" and own["name"].startswith("Fake ")

    create = {"subject": "Launch team", "participants": ["+628111111111", "628111111110"]}
    _, group, _ = await api.request("POST", f"{base}/groups", api_key=key, json=create, expect=201,
                                    headers={"Idempotency-Key": f"group-{session_id}"})
    assert [p["role"] for p in group["participants"]] == ["superadmin", "member"]
    _, listed, _ = await api.request("GET", f"{base}/groups", api_key=key, expect=200)
    assert listed["groups"] == [group]
    jid = group["jid"]
    _, changed, _ = await api.request("POST", f"{base}/groups/{jid}/participants", api_key=key, expect=200,
                                      json={"action": "add", "participants": ["628122222222", "628111111111"]},
                                      headers={"Idempotency-Key": f"add-{session_id}"})
    assert [p["outcome"] for p in changed["participants"]] == ["done", "unchanged"]
    _, link, _ = await api.request("GET", f"{base}/groups/{jid}/invite", token=token, expect=200)
    assert link["invite_link"].startswith("https://chat.whatsapp.com/")
    await api.request("POST", f"{base}/groups/{jid}/leave", api_key=key, expect=200)
    _, body, _ = await api.request("POST", f"{base}/groups/{jid}/leave", api_key=key, expect=404)
    assert body["error"]["code"] == "not_found"


async def test_link_by_pairing_code_then_log_out_unlinks_the_device(run, world):
    api, token, http = world
    _, created, _ = await api.request("POST", "/sessions", token=token, json={"name": "Paired"}, expect=201)
    session_id = created["session"]["session_id"]
    await api.request("POST", f"/sessions/{session_id}/pair", token=token, json={"phone": TO}, expect=202)

    async def code_shown():
        _, body, _ = await api.request("GET", f"/sessions/{session_id}", token=token, expect=200)
        return body["session"]["pairing_code"] and body["session"]
    shown = await wait_until(code_shown)
    await _phone(http, run, shown["worker_id"], f"/sessions/{session_id}/pairing-code",
                 json={"code": shown["pairing_code"]})
    await _session(api, token, session_id, "CONNECTED")
    assert (run.store / f"{session_id}.json").exists()

    await api.request("POST", f"/sessions/{session_id}/logout", token=token, expect=200)
    await _session(api, token, session_id, "LOGGED_OUT")
    await wait_until(lambda: _gone(run.store / f"{session_id}.json"))


async def _gone(path: Path) -> bool:
    return not path.exists()


async def test_a_session_survives_its_worker_killed_and_a_graceful_restart_without_a_scan(run, world):
    api, token, http = world
    session_id, key, session = await _linked(api, token, http, run, "Failover")
    victim = session["worker_id"]
    run.workers[victim].kill()  # SIGKILL: no goodbye; the other worker restores from the shared store
    await wait_until(lambda: _on_other_worker(api, token, session_id, victim), timeout=60)
    _, accepted, _ = await api.request("POST", "/send", api_key=key, json={"to": TO, "text": "after"}, expect=202)
    await _message(api, token, accepted["message_id"], READ)

    run.workers[victim].start()  # the killed worker comes back...
    await run.workers[victim].wait_ready()
    holder = (await _session(api, token, session_id, "CONNECTED"))["worker_id"]
    run.workers[holder].stop()  # ...and the holder leaves gracefully: the session is restored on the other
    await wait_until(lambda: _on_other_worker(api, token, session_id, holder), timeout=60)
    assert (await _session(api, token, session_id, "CONNECTED"))["phone"] == session["phone"]
    run.workers[holder].start()
    await run.workers[holder].wait_ready()


async def _on_other_worker(api, token, session_id: str, gone: str) -> bool:
    _, body, _ = await api.request("GET", f"/sessions/{session_id}", token=token, expect=200)
    return body["session"]["status"] == "CONNECTED" and body["session"]["worker_id"] not in (gone, None)
