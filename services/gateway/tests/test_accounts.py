"""Register, log in, read one's own account."""

import pytest
from wagw_common.tokens import verify_access_token

pytestmark = pytest.mark.unit

PASSWORD = "correct-horse-battery"


async def _register(client, email="Alice@Example.com", **extra):
    return await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, **extra})


@pytest.mark.asyncio
async def test_register_login_me(client, gateway, settings):
    resp = await _register(client, name="Alice")
    assert resp.status == 201
    user = (await resp.json())["user"]
    assert user["email"] == "alice@example.com" and user["role"] == "user" and user["tier"] == "BASIC"
    assert user["user_id"].startswith("u_") and set(user) == {"user_id", "email", "name", "role", "tier", "created_at"}
    stored = next(iter(gateway.users.collection.docs.values()))
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in str(stored)

    resp = await client.post("/api/v1/auth/login", json={"email": "ALICE@example.com ", "password": PASSWORD})
    assert resp.status == 200
    token = await resp.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == settings.access_token_ttl
    principal = verify_access_token(token["access_token"], secrets=[settings.jwt_secret], issuer=settings.jwt_issuer,
                                    audience=settings.jwt_audience)
    assert principal.user_id == user["user_id"]

    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert resp.status == 200 and (await resp.json())["user"] == user


@pytest.mark.asyncio
async def test_duplicate_email_is_409_conflict(client, expect_error):
    assert (await _register(client)).status == 201
    await expect_error(await _register(client, email=" alice@EXAMPLE.com"), 409, "conflict")


@pytest.mark.asyncio
async def test_wrong_password_and_unknown_email_answer_alike(client, expect_error):
    await _register(client)
    wrong = await expect_error(await client.post("/api/v1/auth/login", json={"email": "alice@example.com",
                                                                              "password": "not-the-password"}),
                               401, "unauthorized")
    unknown = await expect_error(await client.post("/api/v1/auth/login", json={"email": "bob@example.com",
                                                                                "password": PASSWORD}),
                                 401, "unauthorized")
    assert wrong == unknown


@pytest.mark.asyncio
async def test_configured_admin_email_registers_as_admin(client):
    assert (await (await _register(client, email="root@example.com")).json())["user"]["role"] == "admin"
