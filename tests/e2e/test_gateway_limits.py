"""Rate limits and key rotation with their real (here: small) values, on a gateway replica of the
running platform that has settings of its own and rate-limit windows of its own."""

from __future__ import annotations

import uuid

import aiohttp
import pytest
import pytest_asyncio

from harness.api import GatewayClient
from harness.gateway_world import connected_session, gateway_replica
from harness.platform_run import JWT_SECRET

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

NEW_JWT_SECRET = "rotated-secret-" + "y" * 32
SEND = {"to": "+628123456789", "text": "hello"}
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def limited(platform):
    replica = gateway_replica(
        platform, own_redis=True, RATE_LIMIT_AUTH_PER_MINUTE="5", TRUSTED_PROXY_HOPS="1", LOGIN_MAX_FAILURES="3",
        RATE_LIMIT_USER_PER_MINUTE="10", RATE_LIMIT_API_KEY_PER_MINUTE="8",
        TIER_SEND_RATES_PER_MINUTE="BASIC=3,PRO=600,MAX=3000",
        # A rotated signing key: tokens of the platform's gateway (the old key) must still work here.
        JWT_SECRET=NEW_JWT_SECRET, JWT_PREVIOUS_SECRETS=JWT_SECRET)
    replica.start()
    try:
        await replica.wait_ready()
        yield replica
    finally:
        replica.stop()


def _address() -> dict:
    """A client address of its own (the replica trusts one proxy hop), so no other test shares its window."""
    return {"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}, 198.51.100.{uuid.uuid4().int % 250 + 1}"}


async def test_auth_routes_are_limited_per_client_address(limited):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(limited.url, http)
        headers = _address()
        for n in range(5):
            status, _, answer = await api.request("POST", "/auth/login", headers=headers,
                                                  json={"email": f"x{n}@example.com", "password": "nope-nope"})
            assert status == 401 and answer["RateLimit-Remaining"] == str(4 - n)
        status, body, answer = await api.request("POST", "/auth/register", headers=headers,
                                                 json={"email": "y@example.com", "password": "long enough pw"})
        assert status == 429 and body["error"]["code"] == "rate_limited"
        assert 0 < int(answer["Retry-After"]) <= 60 and answer["RateLimit-Limit"] == "5"
        assert all(h in answer for h in RATE_HEADERS)
        status, _, _ = await api.request("POST", "/auth/login", headers=_address(),
                                         json={"email": "x@example.com", "password": "nope-nope"})
        assert status == 401  # another address has its own window


async def test_failed_logins_lock_the_account_whatever_the_address(limited, platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(limited.url, http)
        customer = await GatewayClient(platform.url("gateway"), http).sign_up()  # accounts are shared
        for _ in range(3):
            await api.request("POST", "/auth/login", headers=_address(),
                              json={"email": customer.email, "password": "wrong password"}, expect=401)
        status, body, answer = await api.request("POST", "/auth/login", headers=_address(),
                                                 json={"email": customer.email, "password": customer.password})
        assert status == 429 and body["error"]["code"] == "login_locked" and int(answer["Retry-After"]) > 0


async def test_each_user_is_limited(limited, platform):
    async with aiohttp.ClientSession() as http:
        api, main = GatewayClient(limited.url, http), GatewayClient(platform.url("gateway"), http)
        customer = await main.sign_up()
        remaining = []
        for _ in range(10):
            _, _, answer = await api.request("GET", "/users/me", token=customer.token, expect=200)
            remaining.append(int(answer["RateLimit-Remaining"]))
        assert remaining == list(range(9, -1, -1))
        status, body, answer = await api.request("GET", "/users/me", token=customer.token)
        assert status == 429 and body["error"]["details"]["limit"] == "user" and int(answer["Retry-After"]) > 0
        other = await main.sign_up()
        await api.request("GET", "/users/me", token=other.token, expect=200)


async def test_sends_are_limited_by_the_tier_and_each_key_by_its_own_limit(limited, platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(limited.url, http)
        customer = await GatewayClient(platform.url("gateway"), http).sign_up()
        session_id, key = await connected_session(api, http, platform, customer.token, "limited")
        for _ in range(3):
            await api.request("POST", "/send", api_key=key, json=SEND, expect=202)
        status, body, answer = await api.request("POST", "/send", api_key=key, json=SEND)
        assert status == 429 and body["error"]["details"]["limit"] == "send"
        assert answer["RateLimit-Limit"] == "3" and answer["RateLimit-Remaining"] == "0"
        # The tier's rate is the account's, whichever way it sends.
        status, body, _ = await api.request("POST", f"/sessions/{session_id}/messages", token=customer.token,
                                            json=SEND)
        assert status == 429
        _, usage, _ = await api.request("GET", "/users/me/usage", token=customer.token, expect=200)
        assert usage["messages"]["sent"] == 3
        # The key's own limit (8 a minute), reads included: 3 sends so far (a refused request counts nowhere).
        for _ in range(5):
            await api.request("GET", f"/sessions/{session_id}", api_key=key, expect=200)
        status, body, _ = await api.request("GET", f"/sessions/{session_id}", api_key=key)
        assert status == 429 and body["error"]["details"]["limit"] == "api-key"


async def test_a_rotated_jwt_key_logs_nobody_out(limited, platform):
    async with aiohttp.ClientSession() as http:
        main, replica = GatewayClient(platform.url("gateway"), http), GatewayClient(limited.url, http)
        customer = await main.sign_up()  # signed with the old key
        await replica.request("GET", "/users/me", token=customer.token, expect=200)
        _, tokens, _ = await replica.request("POST", "/auth/login", headers=_address(), expect=200,
                                             json={"email": customer.email, "password": customer.password})
        await replica.request("GET", "/users/me", token=tokens["access_token"], expect=200)
        # The platform's gateway has not been told about the new key: it refuses what it cannot verify.
        await main.request("GET", "/users/me", token=tokens["access_token"], expect=401)
