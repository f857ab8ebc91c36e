"""The Socket.IO edge itself, on real replicas: refused credentials, the connection limit across
replicas, tokens that expire while connected, logins ended from elsewhere, and garbage on the wire."""

import asyncio
from datetime import timedelta

import aiohttp
import pytest
import socketio

from harness.flows import wait_until

pytestmark = pytest.mark.integration


async def test_bad_tokens_are_refused(start_replica, token_for):
    url = await start_replica()
    expired = token_for("u_alice", ttl=-timedelta(seconds=1))
    for auth, code in (({"token": "not-a-jwt"}, "unauthorized"), (None, "unauthorized"),
                       ({"token": expired}, "token_expired"), ({"api_key": "wagw_sk_nobody"}, "unauthorized")):
        client = socketio.AsyncClient(reconnection=False)
        refusals = []
        client.on("connect_error", refusals.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(url, auth=auth, wait_timeout=5)
        assert refusals and refusals[0]["data"]["code"] == code, auth
        await client.disconnect()


async def test_connections_per_user_are_limited_across_replicas(start_replica, token_for, listeners):
    first, second = await start_replica(REALTIME_MAX_CONNECTIONS_PER_USER="2"), \
        await start_replica(REALTIME_MAX_CONNECTIONS_PER_USER="2")
    one = await listeners(first, token_for("u_busy"))
    await listeners(second, token_for("u_busy"))
    refused = socketio.AsyncClient(reconnection=False)
    errors = []
    refused.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(first, auth={"token": token_for("u_busy")}, wait_timeout=5)
    assert errors[0]["data"]["code"] == "too_many_connections"
    await listeners(second, token_for("u_other"))  # another user is not affected
    await one.close()
    await asyncio.sleep(0.3)
    await listeners(first, token_for("u_busy"))  # a freed place can be taken again


async def test_an_expiring_token_is_warned_then_renewed_then_ended(start_replica, token_for, listeners):
    url = await start_replica(REALTIME_TOKEN_WARNING_SECONDS="2")
    client = await listeners(url, token_for("u_alice", ttl=timedelta(seconds=3)), transports=["websocket"])
    warning = await client.wait_for("auth.expiring", timeout=5)
    assert warning["seconds_left"] <= 2
    ack = await client.client.call("reauth", {"token": token_for("u_alice", ttl=timedelta(seconds=4))}, timeout=5)
    assert ack["ok"] and ack["expires_at"]
    await asyncio.sleep(1.5)
    assert client.client.connected  # the old expiry passed; the fresh token holds
    ended = await client.wait_for("auth.ended", timeout=8)
    assert ended["code"] == "token_expired"
    await wait_until(lambda: asyncio.sleep(0, not client.client.connected), timeout=5)


async def test_ended_logins_close_the_users_connections_on_every_replica(start_replica, token_for, listeners, broker):
    first, second = await start_replica(), await start_replica()
    alice = [await listeners(first, token_for("u_alice")), await listeners(second, token_for("u_alice"))]
    bob = await listeners(first, token_for("u_bob"))
    await broker.publish_event("user.logins_ended", {"user_id": "u_alice", "reason": "password_changed"})
    for client in alice:
        ended = await client.wait_for("auth.ended", timeout=10)
        assert ended["code"] == "logins_ended"
        await wait_until(lambda listener=client: asyncio.sleep(0, not listener.client.connected), timeout=5)
    assert bob.client.connected and not bob.events["auth.ended"]


async def test_garbage_on_the_wire_never_takes_the_server_down(start_replica, token_for, listeners):
    url = await start_replica(REALTIME_MAX_PAYLOAD_BYTES="1024")
    ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url) as ws:
            await ws.receive()  # the Engine.IO open packet
            await ws.send_str('40{"token": "' + token_for("u_alice") + '"}')
            await ws.receive()
            for garbage in ("42not json", "4", '42["subscribe"', "49", "42" + "[" * 500):
                await ws.send_str(garbage)
        async with http.ws_connect(ws_url) as ws:
            await ws.receive()
            await ws.send_str("4" + "x" * 20_000)  # over the transport limit: this connection is closed
            message = await ws.receive(timeout=5)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING,
                                    aiohttp.WSMsgType.ERROR)
    client = await listeners(url, token_for("u_alice"))
    assert client.client.connected


async def test_socketio_sits_beside_the_service_endpoints(start_replica):
    url = await start_replica()
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/readyz", "/metrics"):
            async with http.get(url + path) as response:
                assert response.status == 200, path
        async with http.get(url + "/socket.io/", params={"EIO": "4", "transport": "polling"}) as response:
            assert response.status == 200 and '"sid"' in await response.text()
            assert response.headers["X-Correlation-Id"]
