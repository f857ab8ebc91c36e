"""Two realtime replicas under the running platform, clients spread across both: every client gets
each of its events exactly once, whichever replica consumed it, whichever rooms the client is in."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest
import socketio

from harness.api import GatewayClient
from harness.realtime import RealtimeListener

pytestmark = pytest.mark.e2e


@pytest.fixture
async def second_realtime(platform):
    """A second realtime replica beside the platform's, on the same broker and Redis."""
    replica = platform.add_service("realtime", replica=1)
    replica.start()
    try:
        await replica.wait_ready()
        yield replica.url
    finally:
        replica.stop()
        platform.services.pop(replica.name, None)


async def _listen(url: str, *, token: str | None = None, api_key: str | None = None) -> RealtimeListener:
    listener = RealtimeListener(url, token)
    await listener.client.connect(url, auth={"api_key": api_key} if api_key else {"token": token},
                                  transports=["websocket"], wait_timeout=10)
    return listener


def _session_events(listener: RealtimeListener, session_id: str) -> Counter:
    """Every event about the session, as (event, identity) pairs, counted."""
    seen: Counter = Counter()
    for event in ("session.status", "session.qr"):
        for data in listener.events[event]:
            if data["session_id"] == session_id and data.get("previous", "live") is not None:
                seen[(event, data["sequence"])] += 1  # the state sent on subscribe has previous=None
    for data in listener.events["message.status"]:
        seen[("message.status", data["message_id"], data["status"])] += 1
    for data in listener.events["message.received"]:
        seen[("message.received", data["message_id"])] += 1
    return seen


async def test_two_replicas_deliver_every_event_once_to_every_client(platform, second_realtime):
    first = platform.url("realtime")
    worker_url = platform.worker_url(next(iter(platform.workers)))
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        owner, stranger = await api.sign_up(), await api.sign_up()
        _, created, _ = await api.request("POST", "/sessions", token=owner.token, json={"name": "Replicas"},
                                          expect=201)
        session_id, api_key = created["session"]["session_id"], created["api_key"]

        # Dashboards on both replicas, subscribed (user room + session room) or not (user room only);
        # API-key clients on both (session room only); someone else's dashboard.
        subscribed = [await _listen(url, token=owner.token) for url in (first, second_realtime)]
        unsubscribed = [await _listen(url, token=owner.token) for url in (first, second_realtime)]
        bots = [await _listen(url, api_key=api_key) for url in (first, second_realtime)]
        others = await _listen(second_realtime, token=stranger.token)
        clients = [*subscribed, *unsubscribed, *bots]
        try:
            for listener in subscribed:
                assert (await listener.client.call("subscribe", {"session_id": session_id}, timeout=10))["ok"]
            for listener in [*subscribed, *bots]:  # the state comes first: DISCONNECTED, sequence 1
                state = await listener.wait_for("session.status", lambda d: d["previous"] is None, timeout=10)
                assert (state["status"], state["sequence"]) == ("DISCONNECTED", 1)

            await api.request("POST", f"/sessions/{session_id}/connect", token=owner.token, expect=202)
            for listener in clients:
                await listener.wait_for("session.qr", lambda d: d["session_id"] == session_id)
            async with http.post(f"{worker_url}/sessions/{session_id}/scan") as scanned:
                assert scanned.status == 200, await scanned.text()
            for listener in clients:
                await listener.wait_for("session.status", lambda d: d["status"] == "CONNECTED")

            _, accepted, _ = await api.request("POST", "/send", api_key=api_key, expect=202,
                                               json={"to": "+628123456789", "text": "Hello, replicas"})
            async with http.post(f"{worker_url}/sessions/{session_id}/inbound",
                                 json={"text": "Hi back", "chat": "628123456789@s.whatsapp.net"}) as inbound:
                assert inbound.status == 202, await inbound.text()
            message_id = accepted["message_id"]
            for listener in clients:
                await listener.wait_for("message.status", lambda d: d["message_id"] == message_id
                                        and d["status"] == "read")
                await listener.wait_for("message.received", timeout=20)
            await asyncio.sleep(1.0)  # a duplicate would have arrived by now

            reference = _session_events(clients[0], session_id)
            assert ("session.status", 1) not in reference  # state on subscribe is not counted as an event
            assert any(k[0] == "message.status" for k in reference) and any(k[0] == "session.qr" for k in reference)
            for listener in clients:
                events = _session_events(listener, session_id)
                assert max(events.values()) == 1, f"a duplicate: {events.most_common(3)}"
                assert set(events) == set(reference)
            statuses = [d["sequence"] for d in clients[0].events["session.status"] if d["previous"] is not None]
            assert len(statuses) == len(set(statuses))
            assert all(not others.events[e] for e in ("session.status", "session.qr", "message.status"))
        finally:
            for listener in [*clients, others]:
                await listener.close()


async def test_an_api_key_connects_only_to_its_own_session(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        owner = await api.sign_up()
        _, created, _ = await api.request("POST", "/sessions", token=owner.token, json={"name": "Key"}, expect=201)
        bot = await _listen(platform.url("realtime"), api_key=created["api_key"])
        try:
            ack = await bot.client.call("subscribe", {"session_id": "s_someone_else"}, timeout=10)
            assert ack["error"]["code"] == "forbidden"
        finally:
            await bot.close()
    refused = socketio.AsyncClient(reconnection=False)
    errors = []
    refused.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(platform.url("realtime"), auth={"api_key": "wagw_sk_" + "0" * 48}, wait_timeout=10)
    assert errors[0]["data"]["code"] == "unauthorized"
