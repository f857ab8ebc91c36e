"""Access tokens on the user routes; the admin role on fleet routes."""

from datetime import timedelta

import pytest
from wagw_common.tokens import Principal, issue_access_token

pytestmark = pytest.mark.unit

ME = "/api/v1/users/me"


@pytest.mark.asyncio
async def test_missing_token_is_401_with_a_challenge(client, expect_error):
    resp = await client.get(ME)
    await expect_error(resp, 401, "unauthorized")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.asyncio
@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer abc"])
async def test_malformed_authorization_is_401(client, expect_error, header):
    await expect_error(await client.get(ME, headers={"Authorization": header}), 401, "unauthorized")


def _token(settings, **overrides):
    args = dict(secret=settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                ttl=timedelta(minutes=5))
    args.update(overrides)
    return issue_access_token(Principal("u_alice", "user", "BASIC"), **args)


@pytest.mark.asyncio
@pytest.mark.parametrize("overrides", [
    {"ttl": timedelta(seconds=-1)},
    {"secret": "another-secret-of-enough-length-0123"},
    {"issuer": "someone-else"},
    {"audience": "another-api"},
])
async def test_expired_or_foreign_tokens_are_401(client, settings, expect_error, overrides):
    headers = {"Authorization": f"Bearer {_token(settings, **overrides)}"}
    await expect_error(await client.get(ME, headers=headers), 401, "unauthorized")


@pytest.mark.asyncio
async def test_a_session_api_key_is_not_an_access_token(client, expect_error):
    resp = await client.get(ME, headers={"Authorization": "Bearer wagw_sk_abc"})
    error = await expect_error(resp, 401, "unauthorized")
    assert "API key" in error["message"]


@pytest.mark.asyncio
async def test_valid_token_for_a_deleted_account_is_401(client, auth, expect_error):
    await expect_error(await client.get(ME, headers=auth("u_gone")), 401, "unauthorized")


@pytest.mark.asyncio
async def test_workers_need_the_admin_role(client, gateway, auth, expect_error):
    gateway.rpc.replies["worker.list"] = {"workers": []}
    await expect_error(await client.get("/api/v1/workers", headers=auth(role="user")), 403, "forbidden")
    await expect_error(await client.get("/api/v1/workers"), 401, "unauthorized")
    resp = await client.get("/api/v1/workers?state=online", headers=auth(role="admin"))
    assert resp.status == 200 and await resp.json() == {"workers": []}
    assert gateway.rpc.calls == [("worker.list", {"state": "online"})]
