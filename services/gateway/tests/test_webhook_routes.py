"""Webhook routes: each passes the caller's tenant (never the client's) to the dispatcher, validates
with the contracts' schemas, and keeps a session-restricted key to its own session's endpoints."""

import pytest
from wagw_common.contracts.webhooks import event_catalog
from wagw_common.errors import RemoteError

pytestmark = pytest.mark.unit
ENDPOINT = {"endpoint_id": "wh_1", "tenant_id": "u_alice", "url": "https://example.com/h", "events": ["*"],
            "session_id": None, "description": "", "headers": {}, "enabled": True,
            "created_at": "2026-01-01T12:00:00Z"}
DELIVERY = {"delivery_id": "dl_1", "endpoint_id": "wh_1", "status": "pending"}


def echo(extra=None):
    return lambda data: {**ENDPOINT, **data, **(extra or {})}


@pytest.mark.asyncio
async def test_every_route_asks_the_dispatcher_for_the_callers_tenant(client, gateway, auth):
    gateway.rpc.replies.update({
        "webhook.endpoint.create": echo({"secret": "whsec_x"}), "webhook.endpoint.list": {"endpoints": [ENDPOINT]},
        "webhook.endpoint.get": echo(), "webhook.endpoint.update": echo(), "webhook.endpoint.enable": echo(),
        "webhook.endpoint.disable": echo({"enabled": False}), "webhook.endpoint.rotate_secret": echo({"secret": "s"}),
        "webhook.endpoint.delete": {"endpoint_id": "wh_1", "deleted": True},
        "webhook.endpoint.test": lambda data: {**DELIVERY, "event_type": data["event_type"]},
        "webhook.delivery.list": {"deliveries": [DELIVERY], "next_cursor": "c2"},
        "webhook.delivery.get": lambda data: {**DELIVERY, "attempts": []},
        "webhook.delivery.redeliver": lambda data: DELIVERY,
    })
    h = auth("u_alice")
    base = "/api/v1/webhooks"
    created = await client.post(base, json={"url": "https://example.com/h", "tenant_id": "u_bob"}, headers=h)
    assert created.status == 422  # the tenant is never the client's to choose
    created = await client.post(base, json={"url": "https://example.com/h", "headers": {"X-Team": "a"}}, headers=h)
    assert created.status == 201 and (await created.json())["endpoint"]["secret"] == "whsec_x"
    assert (await (await client.get(base, headers=h)).json()) == {"endpoints": [ENDPOINT]}
    assert (await (await client.get(f"{base}/wh_1", headers=h)).json())["endpoint"]["endpoint_id"] == "wh_1"
    patched = await client.patch(f"{base}/wh_1", json={"description": "new", "events": ["message.*"]}, headers=h)
    assert patched.status == 200 and (await patched.json())["endpoint"]["description"] == "new"
    assert (await client.post(f"{base}/wh_1/disable", headers=h)).status == 200
    assert (await client.post(f"{base}/wh_1/enable", headers=h)).status == 200
    rotated = await client.post(f"{base}/wh_1/rotate-secret", json={"overlap_seconds": 60}, headers=h)
    assert (await rotated.json())["endpoint"]["secret"] == "s"
    assert (await client.post(f"{base}/wh_1/rotate-secret", headers=h)).status == 200  # the body is optional
    tested = await client.post(f"{base}/wh_1/test", headers=h)
    assert tested.status == 202 and (await tested.json())["delivery"]["event_type"] == "webhook.test"
    page = await client.get(f"{base}/wh_1/deliveries?status=failed&event_type=message.sent&limit=10"
                            "&since=2026-01-01T00:00:00Z&before=c1", headers=h)
    assert await page.json() == {"deliveries": [DELIVERY], "next_cursor": "c2"}
    assert (await (await client.get(f"{base}/wh_1/deliveries/dl_1", headers=h)).json())["delivery"]["attempts"] == []
    assert (await client.post(f"{base}/wh_1/deliveries/dl_1/redeliver", headers=h)).status == 202
    assert (await client.delete(f"{base}/wh_1", headers=h)).status == 204
    assert all(data["tenant_id"] == "u_alice" for _, data in gateway.rpc.calls)
    calls = dict((t, d) for t, d in gateway.rpc.calls)
    assert calls["webhook.endpoint.create"]["headers"] == {"X-Team": "a"}
    assert calls["webhook.endpoint.update"] == {"tenant_id": "u_alice", "endpoint_id": "wh_1", "description": "new",
                                                "events": ["message.*"]}
    listed = calls["webhook.delivery.list"]
    assert listed["status"] == "failed" and listed["limit"] == 10 and listed["before"] == "c1"
    assert calls["webhook.delivery.redeliver"]["delivery_id"] == "dl_1"


@pytest.mark.asyncio
async def test_the_event_catalog_is_served_from_the_contracts(client, auth):
    resp = await client.get("/api/v1/webhooks/event-types", headers=auth())
    assert resp.status == 200 and (await resp.json())["event_types"] == event_catalog()


@pytest.mark.asyncio
async def test_bad_requests_are_refused_before_the_dispatcher_is_asked(client, gateway, auth, expect_error):
    h = auth()
    for body in ({"url": "ftp://x"}, {"url": "https://e.com/h", "headers": {"webhook-id": "x"}},
                 {"url": "https://e.com/h", "events": []}, {"url": "https://e.com/h", "surprise": 1}):
        await expect_error(await client.post("/api/v1/webhooks", json=body, headers=h), 422, "validation_failed")
    await expect_error(await client.patch("/api/v1/webhooks/wh_1", json={}, headers=h), 422, "validation_failed")
    await expect_error(await client.get("/api/v1/webhooks/wh_1/deliveries?limit=1000", headers=h),
                       422, "validation_failed")
    await expect_error(await client.get("/api/v1/webhooks/wh_1/deliveries?status=lost", headers=h),
                       422, "validation_failed")
    await expect_error(await client.post("/api/v1/webhooks/wh_1/rotate-secret", json={"overlap_seconds": -1},
                                         headers=h), 422, "validation_failed")
    assert gateway.rpc.calls == []


@pytest.mark.asyncio
async def test_the_dispatchers_refusals_become_http_errors(client, gateway, auth, expect_error):
    gateway.rpc.replies.update({
        "webhook.endpoint.get": RemoteError("not_found", "no such webhook endpoint"),
        "webhook.endpoint.create": RemoteError("invalid", "the webhook URL must point to a public address",
                                               {"url": ["10.0.0.1 is not a public address"]}),
        "webhook.delivery.redeliver": RemoteError("conflict", "the endpoint is disabled"),
    })
    await expect_error(await client.get("/api/v1/webhooks/wh_bobs", headers=auth()), 404, "not_found")
    error = await expect_error(await client.post("/api/v1/webhooks", json={"url": "http://10.0.0.1/h"}, headers=auth()),
                               422, "invalid")
    assert error["details"] == {"url": ["10.0.0.1 is not a public address"]}
    await expect_error(await client.post("/api/v1/webhooks/wh_1/deliveries/dl_1/redeliver", headers=auth()),
                       409, "conflict")


@pytest.mark.asyncio
async def test_a_session_filter_must_be_one_of_the_callers_sessions(client, gateway, auth, expect_error):
    gateway.rpc.replies["session.get"] = RemoteError("not_found", "no such session")
    gateway.rpc.replies["webhook.endpoint.update"] = echo()
    await expect_error(await client.post("/api/v1/webhooks", json={"url": "https://e.com/h", "session_id": "s_bobs"},
                                         headers=auth()), 404, "not_found")
    await expect_error(await client.patch("/api/v1/webhooks/wh_1", json={"session_id": "s_bobs"}, headers=auth()),
                       404, "not_found")
    assert not any(t.startswith("webhook.") for t, _ in gateway.rpc.calls)
    # Lifting the restriction (null) needs no session check.
    assert (await client.patch("/api/v1/webhooks/wh_1", json={"session_id": None}, headers=auth())).status == 200


@pytest.mark.asyncio
async def test_a_session_key_sees_and_registers_only_its_own_sessions_endpoints(client, gateway, key_for,
                                                                                expect_error):
    key = {"X-API-Key": await key_for(session_id="s_a", tenant_id="u_alice")}
    mine, other = {**ENDPOINT, "endpoint_id": "wh_a", "session_id": "s_a"}, {**ENDPOINT, "endpoint_id": "wh_b"}
    gateway.rpc.replies.update({
        "webhook.endpoint.list": {"endpoints": [mine, other]},
        "webhook.endpoint.get": lambda data: mine if data["endpoint_id"] == "wh_a" else other,
        "webhook.endpoint.create": echo({"secret": "whsec_x"}), "webhook.delivery.list": {"deliveries": []},
        "session.get": lambda data: {"session_id": data["session_id"]},
    })
    listed = await (await client.get("/api/v1/webhooks", headers=key)).json()
    assert [e["endpoint_id"] for e in listed["endpoints"]] == ["wh_a"]
    assert (await client.get("/api/v1/webhooks/wh_a", headers=key)).status == 200
    for method, path in (("GET", "/api/v1/webhooks/wh_b"), ("GET", "/api/v1/webhooks/wh_b/deliveries"),
                         ("DELETE", "/api/v1/webhooks/wh_b"), ("POST", "/api/v1/webhooks/wh_b/disable")):
        await expect_error(await client.request(method, path, headers=key), 404, "not_found")
    created = await client.post("/api/v1/webhooks", json={"url": "https://e.com/h"}, headers=key)
    assert created.status == 201 and (await created.json())["endpoint"]["session_id"] == "s_a"
    await expect_error(await client.post("/api/v1/webhooks", json={"url": "https://e.com/h", "session_id": "s_b"},
                                         headers=key), 422, "validation_failed")
    assert not any(t in {"webhook.endpoint.delete", "webhook.endpoint.disable"} for t, _ in gateway.rpc.calls)
