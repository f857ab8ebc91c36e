"""Domain events on wagw.events reach the right Socket.IO clients, on any replica; real python-socketio
clients, real replicas on real ports, a private RabbitMQ vhost. The orchestrator's `session.get` and
the gateway's `apikey.resolve` are answered by stand-ins on the same broker."""

import asyncio
import urllib.parse

import aiohttp
import pytest
import socketio

from harness.flows import wait_until
from harness.infra import AUTH_HEADERS
from wagw_common.contracts import contract_for
from wagw_realtime.catalog import PUSHES

pytestmark = pytest.mark.integration
SESSION_ID = "s_realtime"
KEY = "wagw_sk_integration"


def status_changed(tenant_id: str, sequence: int, status: str = "CONNECTED", session_id: str = SESSION_ID) -> dict:
    return {"tenant_id": tenant_id, "session_id": session_id, "previous": "QR_REQUIRED", "status": status,
            "worker_id": "worker-1", "reason": None, "sequence": sequence}


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


def _example(event_type: str, tenant_id: str) -> dict:
    contract = contract_for(event_type)
    data = {**contract.example}
    if "tenant_id" in data:
        data["tenant_id"] = tenant_id
    return contract.load(data)  # timestamps as datetimes, as a producer holds them


async def test_every_pushed_event_type_reaches_its_audience(start_replica, broker, token_for, listeners):
    url = await start_replica()
    owner = await listeners(url, token_for("u_alice"), transports=["websocket"])
    admin = await listeners(url, token_for("u_admin", role="admin"), transports=["websocket"])
    for event_type in PUSHES:
        await broker.publish_event(event_type, _example(event_type, "u_alice"))
    expected: dict[str, int] = {}
    for push in PUSHES.values():
        expected[push.socket_event] = expected.get(push.socket_event, 0) + 1

    async def all_arrived():
        received = {**owner.events, **{k: v for k, v in admin.events.items() if k == "worker.status"}}
        return all(len(received.get(event, [])) >= count for event, count in expected.items())

    await wait_until(all_arrived, timeout=10)
    for event_type, push in PUSHES.items():
        contract = contract_for(event_type)
        payload = push.payload(contract.schema().dump(_example(event_type, "u_alice")))
        audience = admin if push.audience == "admins" else owner
        assert payload in audience.events[push.socket_event], event_type
    assert owner.events["worker.status"] == [] and admin.events["session.status"] == []


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


async def test_subscribe_sends_the_sessions_state_to_its_owner_only(start_replica, stand_ins, token_for, listeners):
    url = await start_replica()
    owner = await listeners(url, token_for("u_alice"))
    assert await owner.client.call("subscribe", {"session_id": SESSION_ID}, timeout=10) == {"ok": True,
                                                                                            "session_id": SESSION_ID}
    assert await owner.wait_for("session.status", timeout=5) == {
        "session_id": SESSION_ID, "status": "QR_REQUIRED", "previous": None, "reason": None, "sequence": 5}
    assert (await owner.wait_for("session.qr", timeout=5))["qr"] == "2@pending-qr"

    stranger = await listeners(url, token_for("u_mallory"))
    ack = await stranger.client.call("subscribe", {"session_id": SESSION_ID}, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    assert (await stranger.wait_for("error", timeout=5))["code"] == "not_found"
    assert stranger.events["session.qr"] == [] and stranger.events["session.status"] == []

    await stranger.client.emit("subscribe", "garbage")
    await stranger.wait_for("error", lambda e: e["code"] == "invalid", timeout=5)
    await stranger.client.emit("subscribe", {"session_id": "s_1", "padding": "x" * 10_000})
    await stranger.wait_for("error", lambda e: e["code"] == "payload_too_large", timeout=5)
    await stranger.client.emit("no-such-request", {"x": 1})
    await stranger.wait_for("error", lambda e: e["code"] == "unknown_event", timeout=5)
    assert stranger.client.connected  # bad payloads never drop the connection


async def test_an_api_key_connection_gets_its_sessions_state_and_events_only(start_replica, stand_ins, broker,
                                                                            listeners):
    url = await start_replica()
    bot = await listeners(url, auth={"api_key": KEY}, transports=["websocket"])
    # No subscribe needed: the key's session is its room, and its state comes with the connection.
    assert (await bot.wait_for("session.status", timeout=10))["sequence"] == 5
    assert (await bot.wait_for("session.qr", timeout=5))["qr"] == "2@pending-qr"
    await broker.publish_event("session.status_changed", status_changed("u_alice", 6, session_id="s_other"))
    await broker.publish_event("session.status_changed", status_changed("u_alice", 6))
    await bot.wait_for("session.status", lambda e: e["sequence"] == 6, timeout=10)
    await asyncio.sleep(0.3)
    assert [e["session_id"] for e in bot.events["session.status"]] == [SESSION_ID, SESSION_ID]
    ack = await bot.client.call("subscribe", {"session_id": "s_other"}, timeout=5)
    assert ack["error"]["code"] == "forbidden"

    refused = socketio.AsyncClient(reconnection=False)
    errors = []
    refused.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(url, auth={"api_key": "wagw_sk_revoked"}, wait_timeout=5)
    assert errors[0]["data"]["code"] == "unauthorized"


async def test_clients_in_both_rooms_on_two_replicas_get_each_event_exactly_once(
        start_replica, stand_ins, broker, token_for, listeners, vhost):
    first, second = await start_replica(), await start_replica()

    async def both_replicas_listen():
        # Each replica's client manager binds a queue of its own to the shared fanout exchange.
        exchange = urllib.parse.quote("wagw-realtime-socketio", safe="")
        async with aiohttp.ClientSession(headers=AUTH_HEADERS) as http:
            async with http.get(vhost.api(f"exchanges/{{vhost}}/{exchange}/bindings/source")) as response:
                return response.status == 200 and len(await response.json()) == 2

    await wait_until(both_replicas_listen, timeout=10)
    clients = []
    for n, url in enumerate((first, second, first, second)):
        client = await listeners(url, token_for("u_alice"), transports=["websocket"])
        if n < 2:  # these two are in the user room and the session's room
            assert (await client.client.call("subscribe", {"session_id": SESSION_ID}, timeout=10))["ok"]
        clients.append(client)
    clients.append(await listeners(first, auth={"api_key": KEY}))  # the session's room only
    clients.append(await listeners(second, auth={"api_key": KEY}))
    await asyncio.sleep(0.5)
    for client in clients:
        client.events["session.status"].clear()
        client.events["session.qr"].clear()
    # The two replicas compete for the events' queue: about half are consumed by the replica a client
    # is not connected to; every one must still arrive, once.
    for sequence in range(10, 30):
        await broker.publish_event("session.status_changed", status_changed("u_alice", sequence))
    await wait_until(lambda: asyncio.sleep(0, all(len(c.events["session.status"]) >= 20 for c in clients)),
                     timeout=15)
    await asyncio.sleep(0.5)  # a duplicate would have arrived by now
    for client in clients:
        assert sorted(e["sequence"] for e in client.events["session.status"]) == list(range(10, 30))
