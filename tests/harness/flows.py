"""User flows shared by several end-to-end tests."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator

import aiohttp

from .api import Customer, GatewayClient
from .platform_run import PlatformRun
from .realtime import RealtimeListener
from .sink import WebhookSink, verify


async def wait_until(probe, timeout: float = 20.0, interval: float = 0.2):
    """Poll `probe()` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


@asynccontextmanager
async def watched_customer(run: PlatformRun, http: aiohttp.ClientSession
                           ) -> AsyncIterator[tuple[GatewayClient, Customer, RealtimeListener, WebhookSink]]:
    """A new customer, signed up, with a Socket.IO connection and a webhook receiver (not registered yet)."""
    api = GatewayClient(run.url("gateway"), http)
    customer = await api.sign_up()
    listener = RealtimeListener(run.url("realtime"), customer.token)
    await listener.connect()
    sink = WebhookSink()
    await sink.start()
    try:
        yield api, customer, listener, sink
    finally:
        await listener.close()
        await sink.stop()


async def walking_skeleton(run: PlatformRun) -> dict:
    """Sign up, create and connect a session, scan its QR, receive webhooks for a sent message."""
    worker_id = next(iter(run.workers))
    async with aiohttp.ClientSession() as http:
        async with watched_customer(run, http) as (api, customer, listener, sink):
            _, created, _ = await api.request("POST", "/sessions", token=customer.token,
                                              json={"name": "Support line", "description": "walking skeleton"},
                                              expect=201)
            session, api_key = created["session"], created["api_key"]
            assert session["status"] == "DISCONNECTED"
            session_id = session["session_id"]

            _, connected, _ = await api.request("POST", f"/sessions/{session_id}/connect", token=customer.token,
                                                expect=202)
            assert connected["session"]["worker_id"] == worker_id

            qr = await listener.wait_for("session.qr", lambda d: d["session_id"] == session_id)
            assert qr["qr"]

            async with http.post(f"{run.worker_url(worker_id)}/sessions/{session_id}/scan") as scanned:
                assert scanned.status == 200, await scanned.text()
            await listener.wait_for("session.status",
                                    lambda d: d["session_id"] == session_id and d["status"] == "CONNECTED")

            _, created_endpoint, _ = await api.request("POST", "/webhooks", token=customer.token,
                                               json={"url": sink.url, "events": ["message.sent"]}, expect=201)
            status, accepted, _ = await api.request("POST", "/send", api_key=api_key,
                                                    json={"to": "+628123456789", "text": "Hello from the skeleton"})
            assert status == 202, accepted
            message_id = accepted["message_id"]

            delivery = await sink.wait_for(lambda r: r.payload["data"].get("message_id") == message_id)
            event = verify(created_endpoint["endpoint"]["secret"], delivery)
            assert event["type"] == "message.sent"

            async def history_shows_sent():
                _, page, _ = await api.request("GET", f"/sessions/{session_id}/messages", token=customer.token,
                                               expect=200)
                found = [m for m in page["messages"] if m["message_id"] == message_id]
                return found and found[0]["status"] in {"sent", "delivered", "read"} and found[0]

            message = await wait_until(history_shows_sent)
            return {"session_id": session_id, "message": message, "customer": customer, "api_key": api_key}


async def inbound_messages(api: GatewayClient, token: str, session_id: str) -> list[dict]:
    """The session's inbound history (newest first); empty until a received message is stored."""
    _, page, _ = await api.request("GET", f"/sessions/{session_id}/messages", token=token,
                                   params={"direction": "inbound"}, expect=200)
    return page["messages"]
