"""Session, message, webhook routes: the tenant always comes from the token, never the client."""

import pytest
import pytest_asyncio
from wagw_common.errors import RemoteError

pytestmark = pytest.mark.unit

VIEW = {"session_id": "s_1", "tenant_id": "u_alice", "name": "Support", "description": "", "status": "DISCONNECTED",
        "worker_id": None, "qr": None, "qr_expires_at": None, "phone": None,
        "created_at": "2026-01-01T12:00:00Z", "updated_at": "2026-01-01T12:00:00Z"}


@pytest_asyncio.fixture
async def alice(client, gateway):
    resp = await client.post("/api/v1/auth/register", json={"email": "alice@example.com", "password": "p" * 12})
    return (await resp.json())["user"]


@pytest.mark.asyncio
async def test_create_session_uses_the_callers_tier_and_returns_a_key_once(client, gateway, alice, auth):
    gateway.users.collection.docs[alice["user_id"]]["tier"] = "PRO"
    gateway.rpc.replies["session.create"] = lambda data: {**VIEW, "tenant_id": data["tenant_id"], "name": data["name"]}
    resp = await client.post("/api/v1/sessions", json={"name": "Support"}, headers=auth(alice["user_id"]))
    assert resp.status == 201
    body = await resp.json()
    assert body["session"]["session_id"] == "s_1" and body["api_key"].startswith("wagw_sk_")
    assert body["api_key_id"].startswith("k_")
    assert gateway.rpc.calls == [("session.create", {"name": "Support", "description": "",
                                                     "tenant_id": alice["user_id"], "session_limit": 5})]
    assert await gateway.api_keys.lookup(body["api_key"]) is not None


@pytest.mark.asyncio
async def test_create_session_refuses_client_tenant_and_limit(client, gateway, alice, auth, expect_error):
    resp = await client.post("/api/v1/sessions", json={"name": "x", "tenant_id": "u_bob", "session_limit": 99},
                             headers=auth(alice["user_id"]))
    assert set((await expect_error(resp, 422, "validation_failed"))["details"]) == {"tenant_id", "session_limit"}
    assert gateway.rpc.calls == []


@pytest.mark.asyncio
async def test_session_limit_is_403(client, gateway, alice, auth, expect_error):
    gateway.rpc.replies["session.create"] = RemoteError("limit_exceeded", "BASIC allows 1 session")
    resp = await client.post("/api/v1/sessions", json={"name": "Two"}, headers=auth(alice["user_id"]))
    await expect_error(resp, 403, "limit_exceeded")
    assert gateway.api_keys.collection.docs == {}


@pytest.mark.asyncio
async def test_routes_pass_the_authenticated_tenant(client, gateway, auth):
    gateway.rpc.replies.update({
        "session.list": {"sessions": [VIEW]}, "session.get": VIEW, "session.connect": {**VIEW, "status": "CONNECTING"},
        "message.list": {"messages": [], "next_cursor": None},
        "message.get": {"message_id": "m_1", "session_id": "s_1"},
    })
    h = auth("u_alice")
    assert (await (await client.get("/api/v1/sessions", headers=h)).json()) == {"sessions": [VIEW]}
    assert (await (await client.get("/api/v1/sessions/s_1", headers=h)).json()) == {"session": VIEW}
    resp = await client.post("/api/v1/sessions/s_1/connect", headers=h)
    assert resp.status == 202 and (await resp.json())["session"]["status"] == "CONNECTING"
    resp = await client.get("/api/v1/sessions/s_1/messages?limit=10&before=m_9", headers=h)
    assert await resp.json() == {"messages": [], "next_cursor": None}
    assert (await (await client.get("/api/v1/messages/m_1", headers=h)).json()) == {
        "message": {"message_id": "m_1", "session_id": "s_1"}}
    assert all(data["tenant_id"] == "u_alice" for _, data in gateway.rpc.calls)
    listed = {"tenant_id": "u_alice", "session_id": "s_1", "limit": 10, "before": "m_9"}
    assert any(t == "message.list" and listed.items() <= data.items() for t, data in gateway.rpc.calls)


@pytest.mark.asyncio
async def test_another_tenants_session_is_404(client, gateway, auth, expect_error):
    gateway.rpc.replies["session.get"] = lambda data: (_ for _ in ()).throw(RemoteError("not_found", "no such session"))
    await expect_error(await client.get("/api/v1/sessions/s_bobs", headers=auth("u_alice")), 404, "not_found")


@pytest.mark.asyncio
async def test_qr(client, gateway, auth, expect_error):
    gateway.rpc.replies["session.get"] = VIEW
    resp = await client.get("/api/v1/sessions/s_1/qr", headers=auth())
    assert (await expect_error(resp, 404, "no_qr"))["details"] == {"status": "DISCONNECTED"}
    pending = {**VIEW, "status": "QR_REQUIRED", "qr": "2@abc", "qr_expires_at": "2999-01-01T00:00:00Z"}
    gateway.rpc.replies["session.get"] = pending
    assert await (await client.get("/api/v1/sessions/s_1/qr", headers=auth())).json() == {
        "qr": "2@abc", "expires_at": "2999-01-01T00:00:00Z"}
    gateway.rpc.replies["session.get"] = {**pending, "qr_expires_at": "2001-01-01T00:00:00Z"}
    await expect_error(await client.get("/api/v1/sessions/s_1/qr", headers=auth()), 404, "no_qr")


@pytest.mark.asyncio
async def test_webhook_create_checks_a_session_filter_belongs_to_the_caller(client, gateway, auth, expect_error):
    gateway.rpc.replies["session.get"] = RemoteError("not_found", "no such session")
    gateway.rpc.replies["webhook.endpoint.create"] = lambda data: {**data, "endpoint_id": "wh_1", "secret": "whsec_x"}
    resp = await client.post("/api/v1/webhooks", json={"url": "https://example.com/h", "session_id": "s_bobs"},
                             headers=auth())
    await expect_error(resp, 404, "not_found")
    resp = await client.post("/api/v1/webhooks", json={"url": "https://example.com/h", "events": ["message.sent"]},
                             headers=auth())
    assert resp.status == 201
    endpoint = (await resp.json())["endpoint"]
    assert endpoint["tenant_id"] == "u_alice" and endpoint["secret"] == "whsec_x"
    await expect_error(await client.post("/api/v1/webhooks", json={"url": "ftp://x"}, headers=auth()),
                       422, "validation_failed")


@pytest.mark.asyncio
async def test_a_key_for_session_a_never_acts_on_session_b(client, gateway, key_for, expect_error, sent_commands):
    """Route by route: the other session's id is a 404 before any service is asked."""
    key = {"X-API-Key": await key_for(session_id="s_a", tenant_id="u_alice")}
    gateway.rpc.replies.update({
        "session.list": {"sessions": [{**VIEW, "session_id": "s_a"}, {**VIEW, "session_id": "s_b"}]},
        "session.get": lambda data: {**VIEW, "session_id": data["session_id"]},
        "session.connect": lambda data: {**VIEW, "session_id": data["session_id"]},
        "message.list": {"messages": [], "next_cursor": None},
        "message.get": {"message_id": "m_b", "session_id": "s_b", "tenant_id": "u_alice"},
    })
    for method, path in (("GET", "/api/v1/sessions/s_b"), ("POST", "/api/v1/sessions/s_b/connect"),
                         ("GET", "/api/v1/sessions/s_b/qr"), ("GET", "/api/v1/sessions/s_b/messages"),
                         ("GET", "/api/v1/messages/m_b")):
        calls = len(gateway.rpc.calls)
        await expect_error(await client.request(method, path, headers=key), 404, "not_found")
        assert path == "/api/v1/messages/m_b" or len(gateway.rpc.calls) == calls
    resp = await client.post("/api/v1/sessions/s_b/messages", json={"to": "628123456789", "text": "x"}, headers=key)
    await expect_error(resp, 404, "not_found")
    assert sent_commands() == []
    listed = await (await client.get("/api/v1/sessions", headers=key)).json()
    assert [s["session_id"] for s in listed["sessions"]] == ["s_a"]
    assert (await client.get("/api/v1/sessions/s_a", headers=key)).status == 200
    await expect_error(await client.post("/api/v1/sessions", json={"name": "x"}, headers=key), 403, "forbidden")
