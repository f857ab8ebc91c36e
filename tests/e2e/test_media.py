"""Received files end to end: the simulated phone sends an image, the simulator stores it through the
SDK into the object store and reports it described; its tenant gets an expiring download link that
serves the very bytes; another tenant, an altered link and an expired one get nothing."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.flows import inbound_messages, wait_until
from harness.platform_run import JWT_SECRET
from harness.sink import WebhookSink
from wagw_gateway import media_links

pytestmark = pytest.mark.e2e
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


async def _connected_session(api, token, phone_url, http) -> str:
    _, created, _ = await api.request("POST", "/sessions", token=token, json={"name": "media"}, expect=201)
    session_id = created["session"]["session_id"]
    await api.request("POST", f"/sessions/{session_id}/connect", token=token, expect=202)

    async def scanned():
        async with http.post(f"{phone_url}/sessions/{session_id}/scan") as response:
            return response.status == 200
    await wait_until(scanned, timeout=30)

    async def connected():  # the scan is reported through the broker: the platform learns it a moment later
        _, view, _ = await api.request("GET", f"/sessions/{session_id}", token=token, expect=200)
        return view["session"]["status"] == "CONNECTED"
    await wait_until(connected, timeout=30)
    return session_id


async def test_a_received_image_is_stored_and_served_to_its_tenant_only_until_its_link_expires(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        owner, stranger = await api.sign_up(), await api.sign_up()
        phone = platform.worker_url(next(iter(platform.workers)))
        session_id = await _connected_session(api, owner.token, phone, http)
        sink = WebhookSink()
        await sink.start()
        try:
            await api.request("POST", "/webhooks", token=owner.token, expect=201,
                              json={"url": sink.url, "events": ["message.received"], "session_id": session_id})
            await _receive_and_download(platform, http, api, owner, stranger, phone, session_id, sink)
        finally:
            await sink.stop()


async def _receive_and_download(platform, http, api, owner, stranger, phone, session_id, sink) -> None:
    async def sent():
        async with http.post(f"{phone}/sessions/{session_id}/inbound-media?caption=the%20receipt&filename=r.png",
                             data=PNG) as response:
            return response.status == 202 and await response.json()
    reported = await wait_until(sent, timeout=30)
    assert reported["media"]["sha256"] == hashlib.sha256(PNG).hexdigest()

    [received] = await wait_until(lambda: inbound_messages(api, owner.token, session_id), timeout=30)
    assert received["type"] == "image" and received["text"] == "the receipt"
    assert received["media"]["size"] == len(PNG) and received["media"]["filename"] == "r.png"
    message_id = received["message_id"]
    # The webhook carries the description and where to get the file, never the bytes.
    hooked = (await sink.wait_for(lambda r: r.payload["type"] == "message.received", timeout=30)).payload["data"]
    assert hooked["media"] == reported["media"] and "url" not in hooked["media"]
    assert hooked["media_link"] == f"/api/v1/messages/{message_id}/media-link"

    _, link, _ = await api.request("GET", f"/messages/{message_id}/media-link", token=owner.token, expect=200)
    base = platform.url("gateway")
    async with http.get(base + link["url"]) as response:  # no credentials: the link is the key
        assert response.status == 200 and response.content_type == "image/png"
        assert await response.read() == PNG

    # Another tenant: neither a link nor, with the owner's link altered to name itself, the file.
    await api.request("GET", f"/messages/{message_id}/media-link", token=stranger.token, expect=404)
    query = parse_qs(urlsplit(link["url"]).query)
    altered = link["url"].replace(query["tenant"][0], "u_0000000000000000")
    async with http.get(base + altered) as response:
        assert response.status == 404

    # A link signed with the platform's key but past its time: 410, said clearly.
    expired, _ = media_links.link(JWT_SECRET, query["tenant"][0], message_id, 60, now=0)
    async with http.get(base + expired) as response:
        assert response.status == 410 and (await response.json())["error"]["code"] == "expired"


async def test_a_file_to_send_is_uploaded_by_multipart_size_limited_and_typed_by_its_bytes(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        base = platform.url("gateway") + "/api/v1/media"
        auth = {"Authorization": f"Bearer {customer.token}"}

        def form(data: bytes, filename: str, content_type: str) -> aiohttp.FormData:
            body = aiohttp.FormData()
            body.add_field("file", data, filename=filename, content_type=content_type)
            return body

        # The client says text/plain: the bytes say PNG, and the bytes win.
        async with http.post(base, data=form(PNG, "dot.txt", "text/plain"), headers=auth) as response:
            assert response.status == 201, await response.text()
            uploaded = await response.json()
        assert uploaded["mimetype"] == "image/png" and uploaded["size"] == len(PNG)
        assert uploaded["sha256"] == hashlib.sha256(PNG).hexdigest() and uploaded["filename"] == "dot.txt"
        async with http.get(uploaded["url"]) as response:  # what the session's worker fetches
            assert response.status == 200 and await response.read() == PNG
        # The link is a send's media.url: accepted, and the session's worker is told to send it.
        session_id = await _connected_session(api, customer.token, platform.worker_url(next(iter(platform.workers))),
                                              http)
        _, accepted, _ = await api.request(
            "POST", f"/sessions/{session_id}/messages", token=customer.token, expect=202,
            json={"to": "+62 812-3456-789", "type": "image", "text": "the uploaded one",
                  "media": {"url": uploaded["url"], "mimetype": uploaded["mimetype"]}})

        async def sent():
            _, body, _ = await api.request("GET", f"/messages/{accepted['message_id']}", token=customer.token)
            return body.get("message", {}).get("status") in {"sent", "delivered", "read"} and body["message"]
        message = await wait_until(sent, timeout=60)
        assert message["media"]["url"] == uploaded["url"]

        # A page of markup posing as a picture is refused; so is a file over MEDIA_MAX_BYTES (1 MiB here).
        html = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
        async with http.post(base, data=form(html, "a.png", "image/png"), headers=auth) as response:
            assert response.status == 415 and (await response.json())["error"]["code"] == "unsupported_media_type"
        async with http.post(base, data=form(PNG + b"\0" * 1048576, "big.png", "image/png"), headers=auth) as response:
            assert response.status == 413 and (await response.json())["error"]["code"] == "too_large"
        async with http.post(base, data=form(PNG, "dot.png", "image/png")) as response:
            assert response.status == 401
        # A multipart body that cannot be read is the client's error, said so (found by the fuzz run).
        for content_type in ("multipart/form-data", "multipart/form-data; boundary=xyz"):
            async with http.post(base, data=b"--abc\r\nnot a part", headers={**auth,
                                                                             "Content-Type": content_type}) as response:
                assert response.status == 400, (content_type, response.status, await response.text())
        # A part whose header lines are broken (what the fuzz run sent: a part of one bare word).
        boundary = "9cc651cd2c8d168349f50fede4c361ac"
        async with http.post(base, data=f"--{boundary}\r\nFalse--{boundary}--\r\n".encode(),
                             headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"}) as response:
            assert response.status == 400, (response.status, await response.text())
