"""The gateway's HTTP edge against the running platform, route by route. The routes come from the
served OpenAPI document, so a new route is checked (and must be given a success case below) at once:
- every secured route refuses missing, malformed and unknown credentials (401);
- every route taking an id answers 404 for another tenant's id, and for another session's id when
  called with a key restricted to one session;
- every body and query string is validated (422 for an unknown field, 400 for a body that is not JSON);
- every route succeeds once, with the right credentials."""

from __future__ import annotations

import re
import uuid

import aiohttp
import pytest
import pytest_asyncio

from harness.api import GatewayClient
from harness.flows import inbound_messages, wait_until
from harness.gateway_world import administrator, build_tenant, connected_session
from harness.sink import WebhookSink

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

TENANT_IDS = ("session_id", "message_id", "key_id", "endpoint_id", "delivery_id")
ADMIN_TAGS = {"administration", "workers"}
SEND = {"to": "+628123456789", "text": "route by route"}
# A valid body for every route that takes one (so that what is checked is the id, not the body).
BODIES = {
    ("patch", "/api/v1/sessions/{session_id}"): {"description": "checked"},
    ("post", "/api/v1/sessions/{session_id}/pair"): {"phone": "+6281234567890"},
    ("post", "/api/v1/sessions/{session_id}/messages"): SEND,
    ("post", "/api/v1/messages/{message_id}/edit"): {"text": "checked"},
    ("post", "/api/v1/messages/{message_id}/forward"): {"to": "+628123456789"},
    ("post", "/api/v1/sessions/{session_id}/chats/read"): {"chat": "+628123456789"},
    ("post", "/api/v1/sessions/{session_id}/presence"): {"presence": "available"},
    ("patch", "/api/v1/webhooks/{endpoint_id}"): {"description": "checked"},
    ("post", "/api/v1/webhooks/{endpoint_id}/rotate-secret"): {},
    ("post", "/api/v1/webhooks/{endpoint_id}/test"): {},
    ("patch", "/api/v1/admin/users/{user_id}"): {"tier": "PRO"},
    ("post", "/api/v1/sessions/{session_id}/groups"): {"subject": "checked", "participants": ["+628123456789"]},
    ("post", "/api/v1/sessions/{session_id}/groups/{group}/participants"): {"action": "add",
                                                                           "participants": ["+628123456789"]},
}
# Path parameters that name no platform resource: a contact and a group on WhatsApp.
WHATSAPP_IDS = {"contact": "628123456789@s.whatsapp.net", "group": "120363025246125486@g.us"}


# A 1x1 PNG, the smallest file the media routes take as an image.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield method, path, op


def fill(path: str, ids: dict[str, str]) -> str:
    ids = {**WHATSAPP_IDS, **ids}
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def params(path: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", path))


class Http:
    """Raw calls (any status, any content type), recording which operations succeeded."""

    def __init__(self, base: str, http: aiohttp.ClientSession):
        self.base, self.http = base, http
        self.succeeded: set[tuple[str, str]] = set()

    async def __call__(self, method: str, path: str, *, ids=None, token=None, key=None, expect=None, body=None,
                       raw: bytes | None = None, form: aiohttp.FormData | None = None, query: str = "",
                       headers=None) -> tuple[int, object]:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["X-API-Key"] = key
        kwargs = {"data": raw, "headers": {**headers, "Content-Type": "application/json"}} if raw is not None \
            else {"data": form, "headers": headers} if form is not None else {"json": body, "headers": headers}
        url = self.base + fill(path, ids or {}) + query
        async with self.http.request(method.upper(), url, allow_redirects=False, **kwargs) as response:
            text = (await response.read()).decode(errors="replace")  # a downloaded file is bytes
            payload = await response.json(content_type=None) if "json" in (response.content_type or "") else text
            if expect is not None:
                assert response.status == expect, f"{method.upper()} {url}: {response.status} {text[:500]}"
                self.succeeded.add((method, path))
            return response.status, payload


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(platform):
    async with aiohttp.ClientSession() as http:
        api = GatewayClient(platform.url("gateway"), http)
        sink = WebhookSink()
        await sink.start()
        try:
            alice = await build_tenant(platform, api, http, sink.url)
            bob = await build_tenant(platform, api, http, sink.url)
            admin = await administrator(platform, api)
            # Carol (PRO) has two sessions: the world one and "other", whose key is the restricted caller.
            carol = await build_tenant(platform, api, http, sink.url)
            await api.request("PATCH", f"/admin/users/{carol.user_id}", token=admin.token, json={"tier": "PRO"},
                              expect=200)
            _, restricted_key = await connected_session(api, http, platform, carol.token, "other")
            _, document, _ = await api.request("GET", "/openapi.json", expect=200)
            yield {"alice": alice, "bob": bob, "carol": carol, "restricted_key": restricted_key, "admin": admin,
                   "document": document, "http": Http(platform.url("gateway"), http), "api": api, "sink": sink,
                   "platform": platform}
        finally:
            await sink.stop()


async def test_every_secured_route_refuses_missing_and_bad_credentials(world):
    call, alice = world["http"], world["alice"]
    checked = 0
    for method, path, op in operations(world["document"]):
        if not op["security"]:
            continue
        for credentials in ({}, {"token": "not.a.jwt"}, {"token": alice.token + "x"}, {"key": "wagw_sk_" + "0" * 48},
                            {"headers": {"Authorization": "Basic YWxpY2U6c2VjcmV0"}}):
            status, body = await call(method, path, ids=alice.ids, body=BODIES.get((method, path)), **credentials)
            assert status == 401, (method, path, credentials, body)
            assert body["error"]["code"] == "unauthorized"
        checked += 1
    assert checked > 30


async def test_another_tenants_ids_are_404_on_every_route(world):
    call, alice, bob = world["http"], world["alice"], world["bob"]
    checked = []
    for method, path, op in operations(world["document"]):
        if not params(path) & set(TENANT_IDS) or set(op["tags"]) & ADMIN_TAGS:
            continue
        if op.get("security") == []:
            continue  # a signed download link: its signature is the credential (tests/e2e/test_media.py)
        status, body = await call(method, path, ids=alice.ids, token=bob.token, body=BODIES.get((method, path)))
        assert status == 404, (method, path, body)
        assert body["error"]["code"] == "not_found"
        checked.append((method, path))
    assert len(checked) > 20
    # Nothing of Alice's was touched: her session is still connected, her key still works.
    status, body = await call("get", "/api/v1/sessions/{session_id}", ids=alice.ids, key=alice.user_key)
    assert status == 200 and body["session"]["status"] == "CONNECTED"


async def test_a_key_for_one_session_never_acts_on_another(world):
    """Carol's key for her session "other" against her world session's ids: 404 on every route it may call."""
    call, carol = world["http"], world["carol"]
    checked = []
    for method, path, op in operations(world["document"]):
        if {"apiKeyAuth": []} not in op["security"] or not params(path) & set(TENANT_IDS):
            continue
        status, body = await call(method, path, ids=carol.ids, key=world["restricted_key"],
                                  body=BODIES.get((method, path)))
        assert status == 404, (method, path, body)
        checked.append((method, path))
    assert len(checked) > 15
    status, body = await call("get", "/api/v1/sessions", key=world["restricted_key"])
    assert status == 200 and carol.session_id not in {s["session_id"] for s in body["sessions"]}
    status, body = await call("post", "/api/v1/send", key=world["restricted_key"],
                              body={**SEND, "session_id": carol.session_id})
    assert status == 422 and "session_id" in body["error"]["details"]


async def test_every_body_and_query_string_is_validated(world):
    call, alice, admin = world["http"], world["alice"], world["admin"]
    checked = 0
    for method, path, op in operations(world["document"]):
        auth = {"token": admin.token} if set(op["tags"]) & ADMIN_TAGS else \
            {"key": alice.session_key} if op["security"] == [{"apiKeyAuth": []}] else {"token": alice.token}
        if "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
            # An upload: a JSON body instead of the documented multipart one is refused, said so.
            status, body = await call(method, path, ids=alice.ids, body={"unexpected_field": 1}, **auth)
            assert status == 400 and "multipart/form-data" in body["error"]["message"], (method, path, body)
            checked += 1
        elif "requestBody" in op:
            status, body = await call(method, path, ids=alice.ids, body={"unexpected_field": 1}, **auth)
            assert status == 422, (method, path, body)
            assert "unexpected_field" in body["error"]["details"], (method, path, body)
            status, body = await call(method, path, ids=alice.ids, raw=b'{"not json', **auth)
            assert status == 400, (method, path, body)
            checked += 1
        if any(p["in"] == "query" for p in op.get("parameters", [])):
            status, body = await call(method, path, ids=alice.ids, query="?unexpected_field=1", **auth)
            assert status == 422 and "unexpected_field" in body["error"]["details"], (method, path, body)
            checked += 1
    assert checked > 15


async def test_every_route_succeeds_with_the_right_credentials(world):
    call, alice, admin, document = world["http"], world["alice"], world["admin"], world["document"]
    api, platform = world["api"], world["platform"]

    # Operations and reference.
    for path in ("/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/api/v1/docs", "/", "/dashboard",
                 "/dashboard/config.json"):
        status, _ = await call("get", path)
        call.succeeded.add(("get", path)) if status in (200, 302) else pytest.fail(f"{path}: {status}")
    await call("get", "/dashboard/{path}", ids={"path": "index.html"}, expect=200)

    # An account of its own, from registration to log-out.
    email, password = f"routes-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery"
    await call("post", "/api/v1/auth/register", body={"email": email, "password": password}, expect=201)
    _, tokens = await call("post", "/api/v1/auth/login", body={"email": email, "password": password}, expect=200)
    _, tokens = await call("post", "/api/v1/auth/refresh", body={"refresh_token": tokens["refresh_token"]}, expect=200)
    token = tokens["access_token"]
    _, me = await call("get", "/api/v1/users/me", token=token, expect=200)
    await call("get", "/api/v1/users/me/usage", token=token, expect=200)
    _, tokens = await call("post", "/api/v1/users/me/password", token=token, expect=200,
                           body={"current_password": password, "new_password": "a brand new password"})
    token = tokens["access_token"]

    # A session's whole life (the new account's one session).
    _, created = await call("post", "/api/v1/sessions", token=token, body={"name": "routes"}, expect=201)
    ids = {"session_id": created["session"]["session_id"]}
    await call("get", "/api/v1/sessions", token=token, expect=200)
    await call("get", "/api/v1/sessions/{session_id}", ids=ids, token=token, expect=200)
    await call("patch", "/api/v1/sessions/{session_id}", ids=ids, token=token, body={"name": "renamed"}, expect=200)
    await call("post", "/api/v1/sessions/{session_id}/api-key", ids=ids, token=token, expect=200)
    await call("post", "/api/v1/sessions/{session_id}/connect", ids=ids, token=token, expect=202)

    async def qr_shown():
        return (await call("get", "/api/v1/sessions/{session_id}/qr", ids=ids, token=token))[0] == 200

    await wait_until(qr_shown)
    await call("get", "/api/v1/sessions/{session_id}/qr", ids=ids, token=token, expect=200)
    await call("post", "/api/v1/sessions/{session_id}/disconnect", ids=ids, token=token, expect=200)
    await call("post", "/api/v1/sessions/{session_id}/restart", ids=ids, token=token, expect=202)
    await call("post", "/api/v1/sessions/{session_id}/logout", ids=ids, token=token, expect=200)
    await call("post", "/api/v1/sessions/{session_id}/pair", ids=ids, token=token, body={"phone": "+6281234567890"},
               expect=202)
    await call("delete", "/api/v1/sessions/{session_id}", ids=ids, token=token, expect=204)

    # Messages, through the world tenant's connected session.
    await call("get", "/api/v1/sessions/{session_id}/messages", ids=alice.ids, token=alice.token, expect=200)
    await call("post", "/api/v1/sessions/{session_id}/messages", ids=alice.ids, token=alice.token, body=SEND,
               expect=202)
    await call("get", "/api/v1/messages/{message_id}", ids=alice.ids, token=alice.token, expect=200)
    await call("post", "/api/v1/send", key=alice.session_key, body=SEND, expect=202)
    await call("post", "/api/v1/messages/{message_id}/forward", ids=alice.ids, key=alice.session_key,
               body={"to": "+628123456789"}, expect=202)
    await call("post", "/api/v1/messages/{message_id}/edit", ids=alice.ids, key=alice.session_key,
               body={"text": "route by route, edited"}, expect=202)
    await call("post", "/api/v1/messages/{message_id}/revoke", ids=alice.ids, token=alice.token, expect=202)
    await call("get", "/api/v1/sessions/{session_id}/chats", ids=alice.ids, token=alice.token, expect=200)
    await call("post", "/api/v1/sessions/{session_id}/chats/read", ids=alice.ids, key=alice.session_key,
               body={"chat": "+628123456789"}, expect=202)
    await call("post", "/api/v1/sessions/{session_id}/presence", ids=alice.ids, token=alice.token,
               body={"presence": "typing", "chat": "628123456789@s.whatsapp.net"}, expect=202)

    # Contacts and groups, asked of the session's worker.
    await call("get", "/api/v1/sessions/{session_id}/contacts/check", ids=alice.ids, key=alice.session_key,
               query="?phone=628123456789", expect=200)
    await call("get", "/api/v1/sessions/{session_id}/contacts/{contact}/profile", ids=alice.ids, token=alice.token,
               expect=200)
    await call("get", "/api/v1/sessions/{session_id}/profile", ids=alice.ids, key=alice.session_key, expect=200)
    _, group = await call("post", "/api/v1/sessions/{session_id}/groups", ids=alice.ids, key=alice.session_key,
                          body={"subject": "routes", "participants": ["+628123456789"]}, expect=201)
    in_group = {**alice.ids, "group": group["jid"]}
    await call("get", "/api/v1/sessions/{session_id}/groups", ids=alice.ids, token=alice.token, expect=200)
    await call("post", "/api/v1/sessions/{session_id}/groups/{group}/participants", ids=in_group,
               key=alice.session_key, body={"action": "promote", "participants": ["+628123456789"]}, expect=200)
    await call("get", "/api/v1/sessions/{session_id}/groups/{group}/invite", ids=in_group, token=alice.token,
               expect=200)
    await call("post", "/api/v1/sessions/{session_id}/groups/{group}/leave", ids=in_group, key=alice.session_key,
               expect=200)

    # API keys.
    _, issued = await call("post", "/api/v1/api-keys", token=token, body={"name": "ci", "scopes": ["messages:read"]},
                           expect=201)
    key_ids = {"key_id": issued["key"]["key_id"]}
    await call("get", "/api/v1/api-keys", token=token, expect=200)
    await call("get", "/api/v1/api-keys/{key_id}", ids=key_ids, token=token, expect=200)
    await call("post", "/api/v1/api-keys/{key_id}/rotate", ids=key_ids, token=token, expect=200)
    await call("delete", "/api/v1/api-keys/{key_id}", ids=key_ids, token=token, expect=204)

    # Webhooks (the new account's own endpoint; deliveries of the world tenant's).
    await call("get", "/api/v1/webhooks/event-types", token=token, expect=200)
    _, endpoint = await call("post", "/api/v1/webhooks", token=token, body={"url": world["sink"].url}, expect=201)
    hook = {"endpoint_id": endpoint["endpoint"]["endpoint_id"]}
    await call("get", "/api/v1/webhooks", token=token, expect=200)
    await call("get", "/api/v1/webhooks/{endpoint_id}", ids=hook, token=token, expect=200)
    await call("patch", "/api/v1/webhooks/{endpoint_id}", ids=hook, token=token, body={"description": "d"}, expect=200)
    await call("post", "/api/v1/webhooks/{endpoint_id}/disable", ids=hook, token=token, expect=200)
    await call("post", "/api/v1/webhooks/{endpoint_id}/enable", ids=hook, token=token, expect=200)
    await call("post", "/api/v1/webhooks/{endpoint_id}/rotate-secret", ids=hook, token=token, body={}, expect=200)
    await call("post", "/api/v1/webhooks/{endpoint_id}/test", ids=hook, token=token, body={}, expect=202)
    await call("get", "/api/v1/webhooks/{endpoint_id}/deliveries", ids=alice.ids, token=alice.token, expect=200)
    await call("get", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}", ids=alice.ids, token=alice.token,
               expect=200)
    await call("post", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver", ids=alice.ids,
               token=alice.token, expect=202)
    await call("delete", "/api/v1/webhooks/{endpoint_id}", ids=hook, token=token, expect=204)

    # The fleet: read it; check, drain, undrain and remove a worker of this test's own.
    await call("get", "/api/v1/workers", token=admin.token, expect=200)
    await call("get", "/api/v1/fleet/stats", token=admin.token, expect=200)
    worker_id = f"routes-{uuid.uuid4().hex[:6]}"
    fleet = {"worker_id": worker_id}
    worker = platform.add_worker(worker_id)
    worker.start()
    try:
        await worker.wait_ready()

        async def registered():
            return (await call("get", "/api/v1/workers/{worker_id}", ids=fleet, token=admin.token))[0] == 200

        await wait_until(registered)
        # Drained at once, so no session of the rest of the suite lands on this short-lived worker.
        await call("post", "/api/v1/workers/{worker_id}/drain", ids=fleet, token=admin.token, body={}, expect=200)
        await call("get", "/api/v1/workers/{worker_id}", ids=fleet, token=admin.token, expect=200)
        await call("post", "/api/v1/workers/{worker_id}/health-check", ids=fleet, token=admin.token, expect=200)
        await call("post", "/api/v1/workers/{worker_id}/undrain", ids=fleet, token=admin.token, expect=200)
        await call("delete", "/api/v1/workers/{worker_id}", ids=fleet, token=admin.token, query="?force=true",
                   expect=200)
    finally:
        # Forgotten by the registry whatever happened above, before the process goes.
        await call("delete", "/api/v1/workers/{worker_id}", ids=fleet, token=admin.token, query="?force=true")
        worker.stop()
        del platform.workers[worker_id]

    # Administration of accounts.
    await call("get", "/api/v1/admin/users", token=admin.token, query=f"?email={email}", expect=200)
    await call("get", "/api/v1/admin/users/{user_id}", ids={"user_id": me["user"]["user_id"]}, token=admin.token,
               expect=200)
    await call("patch", "/api/v1/admin/users/{user_id}", ids={"user_id": me["user"]["user_id"]}, token=admin.token,
               body={"tier": "PRO"}, expect=200)

    # And the end of a login.
    _, tokens = await call("post", "/api/v1/auth/login", body={"email": email, "password": "a brand new password"},
                           expect=200)
    await call("post", "/api/v1/auth/logout", body={"refresh_token": tokens["refresh_token"]}, expect=204)

    # Media: a file to send uploaded; a received file's link, and the file through it.
    upload = aiohttp.FormData()
    upload.add_field("file", PNG, filename="dot.png", content_type="image/png")
    await call("post", "/api/v1/media", token=alice.token, form=upload, expect=201)
    phone = platform.worker_url(next(iter(platform.workers)))
    async with api.http.post(f"{phone}/sessions/{alice.session_id}/inbound-media?filename=r.png", data=PNG) as sent:
        assert sent.status == 202, await sent.text()
        wa_message_id = (await sent.json())["wa_message_id"]

    async def received():
        page = await inbound_messages(api, alice.token, alice.session_id)
        return [m for m in page if m.get("wa_message_id") == wa_message_id and m.get("media")]
    [stored] = await wait_until(received, timeout=30)
    _, link = await call("get", "/api/v1/messages/{message_id}/media-link", ids={"message_id": stored["message_id"]},
                         token=alice.token, expect=200)
    path, _, query = link["url"].partition("?")
    assert path == f"/api/v1/media/{stored['message_id']}"
    await call("get", "/api/v1/media/{message_id}", ids={"message_id": stored["message_id"]}, query=f"?{query}",
               expect=200)

    everything = {(method, path) for method, path, _ in operations(document)}
    assert everything - call.succeeded == set(), "routes without a success case here"
