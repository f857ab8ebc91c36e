"""Idempotency-Key on the creating POSTs beyond /send: replay, mismatch, per-route, no stored secrets."""

import json

import pytest
from wagw_common.errors import RemoteError

pytestmark = pytest.mark.unit

VIEW = {"session_id": "s_1", "tenant_id": "u_alice", "name": "Support", "description": "", "status": "DISCONNECTED",
        "worker_id": None, "qr": None, "qr_expires_at": None, "phone": None,
        "created_at": "2026-01-01T12:00:00Z", "updated_at": "2026-01-01T12:00:00Z"}


@pytest.fixture
def created(gateway):
    calls = []

    def create(data):
        calls.append(data)
        return {**VIEW, "session_id": f"s_{len(calls)}"}

    gateway.rpc.replies["session.create"] = create
    return calls


async def test_a_retried_create_returns_the_first_session_without_its_secret(client, gateway, auth, created):
    headers = {**auth(), "Idempotency-Key": "create-1"}
    first = await client.post("/api/v1/sessions", json={"name": "Support"}, headers=headers)
    again = await client.post("/api/v1/sessions", json={"name": "Support"}, headers=headers)
    assert first.status == again.status == 201 and len(created) == 1
    one, two = await first.json(), await again.json()
    assert two["session"] == one["session"] and two["api_key_id"] == one["api_key_id"]
    assert one["api_key"].startswith("wagw_sk_") and two["api_key"] is None  # a secret is never stored
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    stored = json.dumps(list(gateway.idempotency.collection.docs.values()), default=str)
    assert one["api_key"] not in stored


async def test_same_key_other_body_or_route_is_422(client, auth, created, expect_error):
    headers = {**auth(), "Idempotency-Key": "k"}
    await client.post("/api/v1/sessions", json={"name": "Support"}, headers=headers)
    await expect_error(await client.post("/api/v1/sessions", json={"name": "Sales"}, headers=headers),
                       422, "idempotency_mismatch")
    resp = await client.post("/api/v1/api-keys", json={"name": "Support", "scopes": ["sessions:read"]}, headers=headers)
    await expect_error(resp, 422, "idempotency_mismatch")
    assert len(created) == 1


async def test_a_refused_attempt_is_not_remembered(client, gateway, auth, created, expect_error):
    headers = {**auth(), "Idempotency-Key": "k"}
    gateway.rpc.replies["session.create"] = RemoteError("limit_exceeded", "BASIC allows 1 session")
    await expect_error(await client.post("/api/v1/sessions", json={"name": "x"}, headers=headers),
                       403, "limit_exceeded")
    await expect_error(await client.post("/api/v1/sessions", json={"nam": "x"}, headers=headers),
                       422, "validation_failed")
    gateway.rpc.replies["session.create"] = lambda data: VIEW
    assert (await client.post("/api/v1/sessions", json={"name": "x"}, headers=headers)).status == 201


async def test_keys_are_per_caller(client, auth, created):
    for user in ("u_alice", "u_bob"):
        resp = await client.post("/api/v1/sessions", json={"name": "x"}, headers={**auth(user), "Idempotency-Key": "k"})
        assert resp.status == 201
    assert len(created) == 2


async def test_a_new_api_key_is_replayed_without_its_secret(client, auth):
    headers = {**auth(), "Idempotency-Key": "key-1"}
    body = {"name": "ci", "scopes": ["messages:send"]}
    first = await (await client.post("/api/v1/api-keys", json=body, headers=headers)).json()
    again = await (await client.post("/api/v1/api-keys", json=body, headers=headers)).json()
    assert again["key"] == first["key"] and again["api_key"] is None and first["api_key"]
