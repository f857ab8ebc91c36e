"""Register, log in, refresh, log out; brute-force protection; deactivated accounts."""

import pytest
from wagw_common.tokens import verify_access_token

pytestmark = pytest.mark.unit

PASSWORD = "correct-horse-battery"
LOGIN, REFRESH, LOGOUT, ME = "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/users/me"


async def _register(client, email="Alice@Example.com", **extra):
    return await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, **extra})


async def _login(client, email="alice@example.com", password=PASSWORD):
    return await client.post(LOGIN, json={"email": email, "password": password})


async def test_register_login_me(client, gateway, settings):
    resp = await _register(client, name="Alice")
    assert resp.status == 201
    user = (await resp.json())["user"]
    assert user["email"] == "alice@example.com" and user["role"] == "user" and user["tier"] == "BASIC"
    assert user["user_id"].startswith("u_") and user["active"] is True
    assert set(user) == {"user_id", "email", "name", "role", "tier", "active", "created_at"}
    stored = next(iter(gateway.users.collection.docs.values()))
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in str(stored)

    resp = await client.post(LOGIN, json={"email": "ALICE@example.com ", "password": PASSWORD})
    assert resp.status == 200
    token = await resp.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == settings.access_token_ttl
    assert token["refresh_token"].startswith("wagw_rt_") and token["refresh_expires_in"] == settings.refresh_token_ttl
    principal = verify_access_token(token["access_token"], secrets=[settings.jwt_secret], issuer=settings.jwt_issuer,
                                    audience=settings.jwt_audience)
    assert principal.user_id == user["user_id"]

    resp = await client.get(ME, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert resp.status == 200 and (await resp.json())["user"] == user


async def test_refresh_tokens_are_stored_hashed(client, gateway):
    await _register(client)
    refresh_token = (await (await _login(client)).json())["refresh_token"]
    family = next(iter(gateway.refresh_tokens.collection.docs.values()))
    assert refresh_token not in str(family) and family["revoked"] is False


async def test_refresh_rotates_and_a_reused_token_ends_the_whole_login(client, expect_error):
    await _register(client)
    first = (await (await _login(client)).json())["refresh_token"]
    resp = await client.post(REFRESH, json={"refresh_token": first})
    assert resp.status == 200
    second = await resp.json()
    assert second["refresh_token"] != first
    assert (await client.get(ME, headers={"Authorization": f"Bearer {second['access_token']}"})).status == 200

    # The spent token shows up again: stolen. Both it and its successor stop working.
    await expect_error(await client.post(REFRESH, json={"refresh_token": first}), 401, "unauthorized")
    await expect_error(await client.post(REFRESH, json={"refresh_token": second["refresh_token"]}), 401, "unauthorized")


async def test_other_logins_survive_a_reuse(client):
    await _register(client)
    phone = (await (await _login(client)).json())["refresh_token"]
    laptop = (await (await _login(client)).json())["refresh_token"]
    await client.post(REFRESH, json={"refresh_token": phone})
    await client.post(REFRESH, json={"refresh_token": phone})  # reuse: the phone's login ends
    assert (await client.post(REFRESH, json={"refresh_token": laptop})).status == 200


@pytest.mark.parametrize("token", ["", "nope", "wagw_rt_rf_0123456789abcdef.short", "wagw_rt_" + "x" * 60])
async def test_malformed_or_unknown_refresh_tokens(client, expect_error, token):
    resp = await client.post(REFRESH, json={"refresh_token": token})
    assert resp.status in (401, 422)


async def test_logout_revokes_the_refresh_token(client, expect_error):
    await _register(client)
    tokens = await (await _login(client)).json()
    resp = await client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]})
    assert resp.status == 204
    await expect_error(await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}), 401, "unauthorized")
    assert (await client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]})).status == 204  # idempotent


async def test_duplicate_email_is_409_conflict(client, expect_error):
    assert (await _register(client)).status == 201
    await expect_error(await _register(client, email=" alice@EXAMPLE.com"), 409, "conflict")


async def test_wrong_password_and_unknown_email_answer_alike(client, expect_error):
    await _register(client)
    wrong = await expect_error(await _login(client, password="not-the-password"), 401, "unauthorized")
    unknown = await expect_error(await _login(client, email="bob@example.com"), 401, "unauthorized")
    assert wrong == unknown


async def test_configured_admin_email_registers_as_admin(client):
    assert (await (await _register(client, email="root@example.com")).json())["user"]["role"] == "admin"


async def test_repeated_failed_logins_lock_the_account_for_a_while(client, gateway, settings, expect_error):
    await _register(client)
    for _ in range(settings.login_max_failures):
        await expect_error(await _login(client, password="guess-guess-guess"), 401, "unauthorized")
    # Now even the right password is refused until the window passes, with a Retry-After.
    resp = await _login(client)
    error = await expect_error(resp, 429, "login_locked")
    assert int(resp.headers["Retry-After"]) > 0 and error["details"]["retry_after"] > 0
    gateway.login_guard.redis.values.clear()  # the window passed
    assert (await _login(client)).status == 200


async def test_a_successful_login_clears_the_failures(client, settings):
    await _register(client)
    for _ in range(settings.login_max_failures - 1):
        await _login(client, password="guess-guess-guess")
    assert (await _login(client)).status == 200
    await _login(client, password="guess-guess-guess")
    assert (await _login(client)).status == 200


async def test_a_deactivated_account_cannot_log_in_or_refresh(client, gateway, expect_error):
    user = (await (await _register(client)).json())["user"]
    tokens = await (await _login(client)).json()
    gateway.users.collection.docs[user["user_id"]].update(active=False, token_generation=1)
    gateway.accounts.redis.values.clear()
    await expect_error(await _login(client), 401, "unauthorized")
    await expect_error(await client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}), 401, "unauthorized")
