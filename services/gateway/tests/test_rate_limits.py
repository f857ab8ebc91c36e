"""Rate limits: the decision and its headers, per user, per API key, per client address on /auth."""

import pytest

from wagw_gateway.callers import client_address
from wagw_gateway.ratelimit import Limit, decide

pytestmark = pytest.mark.unit


def test_the_tightest_window_decides_the_headers():
    limits = [Limit("api-key", "k", 100), Limit("send", "u", 10)]
    allowed = decide(limits, 0, [(5, 30_000), (9, 12_500)])
    assert allowed.headers() == {"RateLimit-Limit": "10", "RateLimit-Remaining": "1", "RateLimit-Reset": "13"}
    refused = decide(limits, 2, [(5, 30_000), (10, 999)])
    assert not refused.allowed and refused.scope == "send"
    assert refused.headers() == {"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "1",
                                 "Retry-After": "1"}


async def test_every_answer_of_a_limited_route_carries_the_headers(client, gateway, auth, expect_error):
    headers = auth()
    resp = await client.get("/api/v1/users/me", headers=headers)
    assert resp.headers["RateLimit-Limit"] == str(gateway.settings.rate_limit_user)
    assert int(resp.headers["RateLimit-Remaining"]) == gateway.settings.rate_limit_user - 1
    gateway.rpc.replies.clear()
    failed = await client.get("/api/v1/sessions/s_1", headers=headers)  # an error answer carries them too
    assert failed.status == 503 and "RateLimit-Remaining" in failed.headers


async def test_per_user_limit(client, gateway, auth, expect_error):
    gateway.limiter.windows["gateway:rl:user:u_alice"] = [gateway.settings.rate_limit_user, 30]
    resp = await client.get("/api/v1/users/me", headers=auth())
    await expect_error(resp, 429, "rate_limited")
    assert resp.headers["Retry-After"] == "30" and resp.headers["RateLimit-Remaining"] == "0"
    assert (await client.get("/api/v1/users/me", headers=auth("u_bob"))).status == 200


async def test_per_key_limit(client, gateway, key_for, expect_error, sent_commands):
    key = await key_for()
    record = await gateway.api_keys.lookup(key)
    gateway.limiter.windows[f"gateway:rl:api-key:{record.key_id}"] = [gateway.settings.rate_limit_api_key, 10]
    resp = await client.post("/api/v1/send", json={"to": "628123456789", "text": "x"}, headers={"X-API-Key": key})
    assert (await expect_error(resp, 429, "rate_limited"))["details"]["limit"] == "api-key"
    assert sent_commands() == []


async def test_auth_routes_are_limited_per_client_address(client, gateway, expect_error):
    for n in range(gateway.settings.rate_limit_auth):
        body = {"email": f"nobody{n}@example.com", "password": "whatever-123"}
        assert (await client.post("/api/v1/auth/login", json=body)).status == 401
    resp = await client.post("/api/v1/auth/register", json={"email": "a@example.com", "password": "p" * 12})
    await expect_error(resp, 429, "rate_limited")
    assert int(resp.headers["Retry-After"]) > 0


async def test_redis_down_lets_requests_through(client, gateway, auth):
    headers = auth()
    gateway.limiter.redis.broken = True
    gateway.accounts.redis.broken = True
    resp = await client.get("/api/v1/users/me", headers=headers)
    assert resp.status == 200 and "RateLimit-Limit" not in resp.headers


class _Request:
    def __init__(self, forwarded=None, remote="10.0.0.9"):
        self.headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        self.remote = remote


def test_the_client_address_behind_trusted_proxies():
    assert client_address(_Request("1.1.1.1, 2.2.2.2"), 0) == "10.0.0.9"  # no proxy trusted: the peer
    assert client_address(_Request("6.6.6.6, 1.1.1.1, 2.2.2.2"), 1) == "2.2.2.2"
    assert client_address(_Request("6.6.6.6, 1.1.1.1, 2.2.2.2"), 2) == "1.1.1.1"
    assert client_address(_Request(None), 1) == "10.0.0.9"
