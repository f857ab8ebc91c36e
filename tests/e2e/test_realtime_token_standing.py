"""Realtime refuses the access tokens the gateway refuses (one rule, wagw_common.token_standing):
after a password change or a deactivation, a token issued before can open no new Socket.IO
connection and extend none with `reauth`, though its signature and expiry are still good."""

from __future__ import annotations

import aiohttp
import pytest
import socketio

from harness.api import GatewayClient
from harness.gateway_world import administrator
from harness.realtime import RealtimeListener

pytestmark = pytest.mark.e2e


async def _refused_code(url: str, token: str) -> str:
    client = socketio.AsyncClient(reconnection=False)
    refusals: list[dict] = []
    client.on("connect_error", refusals.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    await client.disconnect()
    return refusals[0]["data"]["code"]


async def test_a_token_from_before_a_password_change_or_deactivation_opens_no_connection(platform):
    realtime = platform.url("realtime")
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        admin = await administrator(platform, api)
        customer = await api.sign_up()
        _, me, _ = await api.request("GET", "/users/me", token=customer.token, expect=200)
        old = customer.token
        _, fresh, _ = await api.request("POST", "/users/me/password", token=old, expect=200,
                                        json={"current_password": customer.password, "new_password": "another phrase"})
        await api.request("GET", "/users/me", token=old, expect=401)  # the gateway's verdict
        assert await _refused_code(realtime, old) == "unauthorized"  # ...and realtime's, at connect

        socket = RealtimeListener(realtime, fresh["access_token"])
        await socket.connect()
        try:
            ack = await socket.client.call("reauth", {"token": old}, timeout=10)
            assert ack["error"]["code"] == "unauthorized"  # ...and at reauth: the connection keeps its token
            assert (await socket.client.call("reauth", {"token": fresh["access_token"]}, timeout=10))["ok"]
        finally:
            await socket.close()

        await api.request("PATCH", f"/admin/users/{me['user']['user_id']}", token=admin.token,
                          json={"active": False}, expect=200)
        await api.request("GET", "/users/me", token=fresh["access_token"], expect=401)
        assert await _refused_code(realtime, fresh["access_token"]) == "unauthorized"
