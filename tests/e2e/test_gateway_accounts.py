"""Accounts, keys and idempotency at the gateway, against the running platform: refresh-token rotation
and reuse detection, log-out, password change and deactivation by an administrator (their realtime
connections closed at once), usage, key revocation and rotation, and idempotent replays of creating
POSTs."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from harness.api import GatewayClient
from harness.flows import wait_until
from harness.gateway_world import administrator, connected_session
from harness.realtime import RealtimeListener

pytestmark = pytest.mark.e2e

SEND = {"to": "+628123456789", "text": "hello"}


async def _login(api: GatewayClient, customer) -> dict:
    _, tokens, _ = await api.request("POST", "/auth/login", json={"email": customer.email,
                                                                   "password": customer.password}, expect=200)
    return tokens


async def test_refresh_rotates_reuse_ends_the_login_and_logout_ends_it_too(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        first = await _login(api, customer)
        _, second, _ = await api.request("POST", "/auth/refresh", json={"refresh_token": first["refresh_token"]},
                                         expect=200)
        await api.request("GET", "/users/me", token=second["access_token"], expect=200)
        # The spent token again: its whole login ends, including the successor it was swapped for.
        await api.request("POST", "/auth/refresh", json={"refresh_token": first["refresh_token"]}, expect=401)
        await api.request("POST", "/auth/refresh", json={"refresh_token": second["refresh_token"]}, expect=401)
        other = await _login(api, customer)
        status, _, _ = await api.request("POST", "/auth/logout", json={"refresh_token": other["refresh_token"]})
        assert status == 204
        await api.request("POST", "/auth/refresh", json={"refresh_token": other["refresh_token"]}, expect=401)


async def test_a_password_change_ends_every_other_login(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        elsewhere = await _login(api, customer)
        socket = await _realtime(platform, elsewhere["access_token"])
        _, fresh, _ = await api.request("POST", "/users/me/password", token=customer.token, expect=200,
                                        json={"current_password": customer.password, "new_password": "new pass phrase"})
        for old in (customer.token, elsewhere["access_token"]):
            await api.request("GET", "/users/me", token=old, expect=401)
        await api.request("POST", "/auth/refresh", json={"refresh_token": elsewhere["refresh_token"]}, expect=401)
        await api.request("GET", "/users/me", token=fresh["access_token"], expect=200)
        await _ended(socket, "logins_ended")


async def _realtime(platform, token: str) -> RealtimeListener:
    socket = RealtimeListener(platform.url("realtime"), token)
    await socket.connect()
    return socket


async def _ended(socket: RealtimeListener, code: str) -> None:
    """The socket was told why, then closed by the server (long before its token would expire)."""
    assert (await socket.wait_for("auth.ended", timeout=15))["code"] == code
    await wait_until(lambda: asyncio.sleep(0, not socket.client.connected), timeout=10)


async def test_deactivation_stops_tokens_and_keys_at_once(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        admin = await administrator(platform, api)
        customer = await api.sign_up()
        _, me, _ = await api.request("GET", "/users/me", token=customer.token, expect=200)
        user_id = me["user"]["user_id"]
        _, created, _ = await api.request("POST", "/sessions", token=customer.token, json={"name": "s"}, expect=201)
        _, issued, _ = await api.request("POST", "/api-keys", token=customer.token, expect=201,
                                         json={"name": "r", "scopes": ["sessions:read"]})
        tokens = await _login(api, customer)
        await api.request("GET", "/sessions", api_key=issued["api_key"], expect=200)
        socket = await _realtime(platform, tokens["access_token"])

        await api.request("PATCH", f"/admin/users/{user_id}", token=admin.token, json={"active": False}, expect=200)
        await _ended(socket, "logins_ended")
        await api.request("GET", "/users/me", token=customer.token, expect=401)
        await api.request("GET", "/sessions", api_key=issued["api_key"], expect=401)
        await api.request("POST", "/send", api_key=created["api_key"], json=SEND, expect=401)
        await api.request("POST", "/auth/login", json={"email": customer.email, "password": customer.password},
                          expect=401)
        await api.request("POST", "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, expect=401)

        await api.request("PATCH", f"/admin/users/{user_id}", token=admin.token, json={"active": True}, expect=200)
        await api.request("GET", "/sessions", api_key=issued["api_key"], expect=200)  # keys were only paused
        await api.request("GET", "/users/me", token=customer.token, expect=401)  # logins ended for good
        await _login(api, customer)
        # An administrator cannot lock themselves out; a user is not an administrator.
        _, admin_me, _ = await api.request("GET", "/users/me", token=admin.token, expect=200)
        await api.request("PATCH", f"/admin/users/{admin_me['user']['user_id']}", token=admin.token,
                          json={"active": False}, expect=409)
        await api.request("GET", "/admin/users", token=(await _login(api, customer))["access_token"], expect=403)


async def test_usage_counts_sessions_and_todays_sends_against_the_tier(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        _, usage, _ = await api.request("GET", "/users/me/usage", token=customer.token, expect=200)
        assert usage["tier"] == "BASIC" and usage["sessions"] == {"used": 0, "limit": 1}
        assert usage["messages"]["sent"] == 0
        session_id, key = await connected_session(api, http, platform, customer.token, "usage")
        for _ in range(3):
            await api.request("POST", "/send", api_key=key, json=SEND, expect=202)
        await api.request("POST", f"/sessions/{session_id}/messages", token=customer.token, json=SEND, expect=202)
        _, usage, _ = await api.request("GET", "/users/me/usage", token=customer.token, expect=200)
        assert usage["sessions"] == {"used": 1, "limit": 1} and usage["messages"]["sent"] == 4


async def test_revoked_and_rotated_keys_stop_at_once(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        _, created, _ = await api.request("POST", "/sessions", token=customer.token, json={"name": "k"}, expect=201)
        session_key, session_key_id = created["api_key"], created["api_key_id"]
        _, issued, _ = await api.request("POST", "/api-keys", token=customer.token, expect=201,
                                         json={"name": "r", "scopes": ["sessions:read"]})
        await api.request("GET", "/sessions", api_key=issued["api_key"], expect=200)  # now cached
        _, listed, _ = await api.request("GET", "/api-keys", token=customer.token, expect=200)
        assert {k["key_id"] for k in listed["keys"]} == {session_key_id, issued["key"]["key_id"]}
        assert all(k["prefix"] and "api_key" not in k for k in listed["keys"])

        status, _, _ = await api.request("DELETE", f"/api-keys/{issued['key']['key_id']}", token=customer.token)
        assert status == 204
        await api.request("GET", "/sessions", api_key=issued["api_key"], expect=401)

        await api.request("GET", f"/sessions/{created['session']['session_id']}", api_key=session_key, expect=200)
        _, rotated, _ = await api.request("POST", f"/api-keys/{session_key_id}/rotate", token=customer.token,
                                          expect=200)
        await api.request("GET", f"/sessions/{created['session']['session_id']}", api_key=session_key, expect=401)
        await api.request("GET", f"/sessions/{created['session']['session_id']}", api_key=rotated["api_key"],
                          expect=200)
        _, used, _ = await api.request("GET", f"/api-keys/{session_key_id}", token=customer.token, expect=200)
        assert used["key"]["rotated_at"] is not None


async def test_idempotent_replays_of_sends_and_creates(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        customer = await api.sign_up()
        session_id, key = await connected_session(api, http, platform, customer.token, "idempotent")
        headers = {"Idempotency-Key": "order-1"}
        _, first, _ = await api.request("POST", "/send", api_key=key, json=SEND, headers=headers, expect=202)
        _, again, replayed = await api.request("POST", "/send", api_key=key, json=SEND, headers=headers, expect=202)
        assert again == first and replayed["Idempotent-Replayed"] == "true"
        _, error, _ = await api.request("POST", "/send", api_key=key, json={**SEND, "text": "other"}, headers=headers,
                                        expect=422)
        assert error["error"]["code"] == "idempotency_mismatch"

        async def delivered():
            _, page, _ = await api.request("GET", f"/sessions/{session_id}/messages", token=customer.token, expect=200)
            return page["messages"] if any(m["message_id"] == first["message_id"] for m in page["messages"]) else None

        assert [m["message_id"] for m in await wait_until(delivered)] == [first["message_id"]]  # sent once

        body = {"name": "ci", "scopes": ["messages:read"]}
        _, key_first, _ = await api.request("POST", "/api-keys", token=customer.token, json=body, headers=headers,
                                            expect=201)  # same Idempotency-Key, other caller scope: the user's
        _, key_again, replayed = await api.request("POST", "/api-keys", token=customer.token, json=body,
                                                   headers=headers, expect=201)
        assert key_again["key"] == key_first["key"] and key_again["api_key"] is None and key_first["api_key"]
        assert replayed["Idempotent-Replayed"] == "true"
