"""Access tokens on the user routes; the admin role on fleet routes."""

from dataclasses import replace
from datetime import timedelta

import pytest
from wagw_common.settings import load
from wagw_common.tokens import Principal, issue_access_token

from wagw_gateway.settings import Settings

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
async def test_valid_token_for_a_deleted_account_is_401(client, settings, expect_error):
    await expect_error(await client.get(ME, headers={"Authorization": f"Bearer {_token(settings)}"}), 401,
                       "unauthorized")


async def test_tokens_signed_with_a_retired_key_still_work_during_rotation(client, gateway, settings, auth,
                                                                           serve_routes):
    auth()  # the account exists
    retired = "the-previous-secret-0123456789abcdef"
    old_token = {"Authorization": f"Bearer {_token(settings, secret=retired)}"}
    assert (await client.get(ME, headers=old_token)).status == 401
    rotated = load(Settings, {"JWT_SECRET": settings.jwt_secret, "JWT_PREVIOUS_SECRETS": f" {retired} ,"})
    assert rotated.jwt_verification_secrets == [settings.jwt_secret, retired]
    async with serve_routes(replace(gateway, settings=rotated)) as restarted:
        assert (await restarted.get(ME, headers=old_token)).status == 200


async def test_a_password_change_retires_older_tokens(client, gateway, auth, expect_error):
    headers = auth()
    gateway.users.collection.docs["u_alice"]["token_generation"] = 1
    gateway.accounts.redis.values.clear()
    error = await expect_error(await client.get(ME, headers=headers), 401, "unauthorized")
    assert "revoked" in error["message"]


async def test_a_deactivated_account_is_refused_and_the_fresh_role_counts(client, gateway, auth, expect_error):
    admin = auth(role="admin")
    gateway.rpc.replies["worker.list"] = {"workers": []}
    assert (await client.get("/api/v1/workers", headers=admin)).status == 200
    gateway.users.collection.docs["u_alice"]["role"] = "user"  # demoted: the token still says admin
    gateway.accounts.redis.values.clear()
    await expect_error(await client.get("/api/v1/workers", headers=admin), 403, "forbidden")
    gateway.users.collection.docs["u_alice"]["active"] = False
    gateway.accounts.redis.values.clear()
    await expect_error(await client.get(ME, headers=admin), 401, "unauthorized")


@pytest.mark.asyncio
async def test_workers_need_the_admin_role(client, gateway, auth, expect_error):
    gateway.rpc.replies["worker.list"] = {"workers": []}
    await expect_error(await client.get("/api/v1/workers", headers=auth(role="user")), 403, "forbidden")
    await expect_error(await client.get("/api/v1/workers"), 401, "unauthorized")
    resp = await client.get("/api/v1/workers?state=online", headers=auth("u_root", role="admin"))
    assert resp.status == 200 and await resp.json() == {"workers": []}
    assert gateway.rpc.calls == [("worker.list", {"state": "online"})]
