"""The caller's own account: changing the password ends every other login."""

import pytest

pytestmark = pytest.mark.unit

PASSWORD = "correct-horse-battery"
NEW = "battery-staple-horse"


@pytest.fixture
async def tokens(client):
    await client.post("/api/v1/auth/register", json={"email": "alice@example.com", "password": PASSWORD})
    return await (await client.post("/api/v1/auth/login", json={"email": "alice@example.com",
                                                                 "password": PASSWORD})).json()


def _bearer(tokens):
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_changing_the_password_retires_every_earlier_token(client, tokens, expect_error, published_events):
    other = await (await client.post("/api/v1/auth/login", json={"email": "alice@example.com",
                                                                  "password": PASSWORD})).json()
    resp = await client.post("/api/v1/users/me/password", json={"current_password": PASSWORD, "new_password": NEW},
                             headers=_bearer(tokens))
    assert resp.status == 200
    fresh = await resp.json()
    assert (await client.get("/api/v1/users/me", headers=_bearer(fresh))).status == 200
    for old in (tokens, other):
        await expect_error(await client.get("/api/v1/users/me", headers=_bearer(old)), 401, "unauthorized")
        await expect_error(await client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}),
                           401, "unauthorized")
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})).status == 200
    assert (await client.post("/api/v1/auth/login", json={"email": "alice@example.com", "password": NEW})).status == 200
    # Realtime is told, so connections opened with the old tokens close now, not at their expiry.
    user_id = (await (await client.get("/api/v1/users/me", headers=_bearer(fresh))).json())["user"]["user_id"]
    assert published_events() == [("user.logins_ended", {"user_id": user_id, "reason": "password_changed"}, user_id)]


async def test_the_password_change_stands_when_the_broker_is_away(client, gateway, tokens, published_events):
    gateway.broker.is_connected = False
    resp = await client.post("/api/v1/users/me/password", json={"current_password": PASSWORD, "new_password": NEW},
                             headers=_bearer(tokens))
    assert resp.status == 200 and published_events() == []
    assert (await client.post("/api/v1/auth/login", json={"email": "alice@example.com", "password": NEW})).status == 200


async def test_a_wrong_current_password_is_422_and_counts_as_a_failed_login(client, gateway, tokens, expect_error):
    body = {"current_password": "not-it-at-all", "new_password": NEW}
    for _ in range(gateway.settings.login_max_failures):
        error = await expect_error(await client.post("/api/v1/users/me/password", json=body, headers=_bearer(tokens)),
                                   422, "validation_failed")
        assert "current_password" in error["details"]
    await expect_error(await client.post("/api/v1/users/me/password", json=body, headers=_bearer(tokens)),
                       429, "login_locked")


async def test_the_new_password_is_validated(client, tokens, expect_error):
    resp = await client.post("/api/v1/users/me/password", json={"current_password": PASSWORD, "new_password": "short"},
                             headers=_bearer(tokens))
    assert "new_password" in (await expect_error(resp, 422, "validation_failed"))["details"]
