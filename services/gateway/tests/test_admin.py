"""Administration: accounts listed and changed by administrators only; a deactivated account's
tokens and keys stop at once; administrators cannot lock themselves out."""

import pytest

pytestmark = pytest.mark.unit

USERS = "/api/v1/admin/users"
SEND = {"to": "628123456789", "text": "hi"}


async def test_only_administrators_manage_accounts(client, auth, key_for, expect_error):
    auth("u_bob")
    await expect_error(await client.get(USERS, headers=auth("u_bob")), 403, "forbidden")
    await expect_error(await client.patch(f"{USERS}/u_bob", json={"tier": "MAX"}, headers=auth("u_bob")),
                       403, "forbidden")
    key = await key_for(tenant_id="u_root")
    await expect_error(await client.get(USERS, headers={"X-API-Key": key}), 401, "unauthorized")


async def test_list_find_and_read_accounts(client, auth, expect_error):
    admin = auth("u_root", role="admin")
    auth("u_bob")
    page = await (await client.get(f"{USERS}?limit=1", headers=admin)).json()
    assert page["total"] == 2 and len(page["users"]) == 1 and set(page["users"][0]) >= {"user_id", "tier", "active"}
    found = await (await client.get(f"{USERS}?email=U_BOB@example.com", headers=admin)).json()
    assert [u["user_id"] for u in found["users"]] == ["u_bob"]
    assert (await (await client.get(f"{USERS}/u_bob", headers=admin)).json())["user"]["email"] == "u_bob@example.com"
    await expect_error(await client.get(f"{USERS}/u_nobody", headers=admin), 404, "not_found")
    await expect_error(await client.get(f"{USERS}?limit=0", headers=admin), 422, "validation_failed")


async def test_a_tier_change_raises_the_session_limit_and_send_rate_at_once(client, gateway, auth):
    admin = auth("u_root", role="admin")
    bob = auth("u_bob")
    resp = await client.patch(f"{USERS}/u_bob", json={"tier": "MAX"}, headers=admin)
    assert resp.status == 200 and (await resp.json())["user"]["tier"] == "MAX"
    gateway.rpc.replies["session.create"] = lambda data: data
    gateway.rpc.replies["session.list"] = {"sessions": []}
    usage = await (await client.get("/api/v1/users/me/usage", headers=bob)).json()
    assert usage["sessions"]["limit"] == 20 and usage["messages"]["send_rate_per_minute"] == 3000


async def test_deactivation_stops_tokens_refresh_and_keys_and_reactivation_restores_keys(
        client, auth, key_for, expect_error, published_events):
    admin = auth("u_root", role="admin")
    bob = auth("u_bob")
    key = {"X-API-Key": await key_for(tenant_id="u_bob")}
    assert (await client.post("/api/v1/send", json=SEND, headers=key)).status == 202
    resp = await client.patch(f"{USERS}/u_bob", json={"active": False}, headers=admin)
    assert resp.status == 200 and (await resp.json())["user"]["active"] is False
    await expect_error(await client.get("/api/v1/users/me", headers=bob), 401, "unauthorized")
    await expect_error(await client.post("/api/v1/send", json=SEND, headers=key), 401, "unauthorized")
    await client.patch(f"{USERS}/u_bob", json={"active": False}, headers=admin)  # again: nothing more ends
    await client.patch(f"{USERS}/u_bob", json={"active": True}, headers=admin)
    assert published_events() == [("user.logins_ended", {"user_id": "u_bob", "reason": "deactivated"}, "u_bob")]
    assert (await client.post("/api/v1/send", json=SEND, headers=key)).status == 202
    # Logins ended for good: the old token is of an earlier generation.
    await expect_error(await client.get("/api/v1/users/me", headers=bob), 401, "unauthorized")


async def test_administrators_cannot_demote_or_deactivate_themselves(client, auth, expect_error):
    admin = auth("u_root", role="admin")
    for change in ({"role": "user"}, {"active": False}):
        await expect_error(await client.patch(f"{USERS}/u_root", json=change, headers=admin), 409, "conflict")
    assert (await client.patch(f"{USERS}/u_root", json={"tier": "PRO"}, headers=admin)).status == 200


async def test_changes_are_validated(client, auth, expect_error):
    admin = auth("u_root", role="admin")
    auth("u_bob")
    for change in ({}, {"tier": "GOLD"}, {"role": "owner"}, {"email": "x@y.z"}):
        await expect_error(await client.patch(f"{USERS}/u_bob", json=change, headers=admin), 422, "validation_failed")
