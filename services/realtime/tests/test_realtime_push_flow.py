"""Domain events on wagw.events reach the right Socket.IO clients, on any replica."""

import asyncio
import urllib.parse
from datetime import timedelta

import aiohttp
import pytest
import socketio

from harness.flows import wait_until
from harness.infra import AUTH_HEADERS
from harness.realtime import RealtimeListener
from wagw_common import topology
from wagw_common.consumer import Consumer, Subscription
from wagw_common.contracts import contract_for
from wagw_common.errors import NotFound
from wagw_common.topology import QueueSpec

pytestmark = pytest.mark.integration
SESSION_ID = "s_realtime"


def status_changed(tenant_id: str, sequence: int, status: str = "CONNECTED") -> dict:
    return {"tenant_id": tenant_id, "session_id": SESSION_ID, "previous": "QR_REQUIRED", "status": status,
            "worker_id": "worker-1", "reason": None, "sequence": sequence}


@pytest.fixture
async def listeners():
    """Socket.IO clients; by default they start on long-polling and upgrade, as browsers do."""
    opened = []

    async def connect(url: str, token: str, **kwargs) -> RealtimeListener:
        listener = RealtimeListener(url, token)
        await listener.client.connect(url, auth={"token": token}, wait_timeout=10, **kwargs)
        opened.append(listener)
        return listener

    yield connect
    for listener in opened:
        await listener.close()


async def test_a_status_change_reaches_only_its_tenant(start_replica, broker, token_for, listeners):
    url = await start_replica()
    mine = await listeners(url, token_for("u_alice"))
    theirs = await listeners(url, token_for("u_bob"), transports=["websocket"])
    await broker.publish_event("session.status_changed", status_changed("u_alice", 3))
    pushed = await mine.wait_for("session.status", timeout=10)
    assert pushed == {"session_id": SESSION_ID, "status": "CONNECTED", "previous": "QR_REQUIRED", "reason": None,
                      "sequence": 3}
    await broker.publish_event("session.status_changed", status_changed("u_bob", 4))
    await theirs.wait_for("session.status", timeout=10)
    assert len(mine.events["session.status"]) == 1 and len(theirs.events["session.status"]) == 1


async def test_bad_tokens_are_refused(start_replica, token_for):
    url = await start_replica()
    expired = token_for("u_alice", ttl=-timedelta(seconds=1))
    for auth, code in (({"token": "not-a-jwt"}, "unauthorized"), (None, "unauthorized"),
                       ({"token": expired}, "token_expired")):
        client = socketio.AsyncClient(reconnection=False)
        refusals = []
        client.on("connect_error", lambda data: refusals.append(data))
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(url, auth=auth, wait_timeout=5)
        assert refusals and refusals[0]["data"]["code"] == code
        await client.disconnect()


async def test_worker_events_reach_admins_only(start_replica, broker, token_for, listeners):
    url = await start_replica()
    admin = await listeners(url, token_for("u_admin", role="admin"))
    user = await listeners(url, token_for("u_user"))
    await broker.publish_event("worker.offline", {"worker_id": "worker-9", "state": "offline",
                                                  "reason": "heartbeat timeout", "session_ids": []})
    assert await admin.wait_for("worker.status", timeout=10) == {"worker_id": "worker-9", "state": "offline",
                                                                  "reason": "heartbeat timeout"}
    await asyncio.sleep(0.3)
    assert user.events["worker.status"] == []


async def _answer_session_get(broker, owner: str):
    """Stands in for the orchestrator's `session.get`: the owner's session has a pending QR."""
    contract = contract_for("session.get")

    async def session_get(envelope):
        if envelope.data["tenant_id"] != owner or envelope.data["session_id"] != SESSION_ID:
            raise NotFound("no such session")
        return contract.reply().load({**contract.reply_example, "session_id": SESSION_ID, "tenant_id": owner,
                                      "status": "QR_REQUIRED", "qr": "2@pending-qr",
                                      "qr_expires_at": "2030-01-01T00:00:00Z"})

    queue = QueueSpec("test.session-get", ((topology.COMMANDS, "session.get"),))
    consumer = Consumer(broker, Subscription(queue, {"session.get": session_get}), prefetch=4, max_attempts=3)
    await consumer.start()
    return consumer


async def test_subscribe_sends_the_sessions_state_to_its_owner_only(start_replica, broker, token_for, listeners):
    url = await start_replica()
    orchestrator = await _answer_session_get(broker, owner="u_alice")
    try:
        owner = await listeners(url, token_for("u_alice"))
        assert await owner.client.call("subscribe", {"session_id": SESSION_ID}, timeout=10) == {"ok": True}
        assert (await owner.wait_for("session.status", timeout=5))["status"] == "QR_REQUIRED"
        assert (await owner.wait_for("session.qr", timeout=5))["qr"] == "2@pending-qr"

        stranger = await listeners(url, token_for("u_mallory"))
        ack = await stranger.client.call("subscribe", {"session_id": SESSION_ID}, timeout=10)
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
        assert (await stranger.wait_for("error", timeout=5))["code"] == "not_found"
        assert stranger.events["session.qr"] == [] and stranger.events["session.status"] == []

        await stranger.client.emit("subscribe", "garbage")
        await stranger.wait_for("error", lambda e: e["code"] == "invalid", timeout=5)
        assert stranger.client.connected  # a bad payload never drops the connection
    finally:
        await orchestrator.stop()


async def test_clients_get_events_whichever_replica_consumed_them(start_replica, broker, token_for, listeners, vhost):
    first, _second = await start_replica(), await start_replica()

    async def both_replicas_listen():
        # Each replica's client manager binds a queue of its own to the shared fanout exchange.
        exchange = urllib.parse.quote("wagw-realtime-socketio", safe="")
        async with aiohttp.ClientSession(headers=AUTH_HEADERS) as http:
            async with http.get(vhost.api(f"exchanges/{{vhost}}/{exchange}/bindings/source")) as response:
                return response.status == 200 and len(await response.json()) == 2

    await wait_until(both_replicas_listen, timeout=10)
    client = await listeners(first, token_for("u_alice"))
    # The two replicas compete for the events' queue, so about half are consumed by the one the
    # client is not connected to; every one must still arrive.
    for sequence in range(1, 9):
        await broker.publish_event("session.status_changed", status_changed("u_alice", sequence))
    await wait_until(lambda: asyncio.sleep(0, len(client.events["session.status"]) == 8), timeout=10)
    assert sorted(e["sequence"] for e in client.events["session.status"]) == list(range(1, 9))


async def test_socketio_sits_beside_the_service_endpoints(start_replica):
    url = await start_replica()
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/readyz", "/metrics"):
            async with http.get(url + path) as response:
                assert response.status == 200, path
        async with http.get(url + "/socket.io/", params={"EIO": "4", "transport": "polling"}) as response:
            assert response.status == 200 and '"sid"' in await response.text()
            assert response.headers["X-Correlation-Id"]
