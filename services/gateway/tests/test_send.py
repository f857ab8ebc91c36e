"""POST /send: a confirmed command, never request/reply; 503 when the broker cannot take it;
Idempotency-Key makes a retry a no-op."""

import re

import pytest
import pytest_asyncio

pytestmark = pytest.mark.unit

BODY = {"to": "628123456789", "text": "hello"}


@pytest_asyncio.fixture
async def key(gateway):
    full, _ = await gateway.api_keys.create(session_id="s_1", tenant_id="u_1")
    return full


@pytest.mark.asyncio
async def test_send_publishes_the_command_with_the_keys_identity(client, gateway, key):
    resp = await client.post("/api/v1/send", json={**BODY, "type": "text"}, headers={"X-API-Key": key})
    assert resp.status == 202
    accepted = await resp.json()
    assert accepted["status"] == "queued" and re.fullmatch(r"m_[0-9a-f]{16}", accepted["message_id"])
    command = {**BODY, "type": "text", "tenant_id": "u_1", "session_id": "s_1", "message_id": accepted["message_id"]}
    assert gateway.commands.sent == [("message.send", command, "s_1")]
    assert gateway.rpc.calls == []


@pytest.mark.asyncio
async def test_the_client_cannot_choose_tenant_session_or_message_id(client, gateway, key, expect_error):
    forged = {**BODY, "tenant_id": "u_2", "session_id": "s_2", "message_id": "m_1"}
    resp = await client.post("/api/v1/send", json=forged, headers={"X-API-Key": key})
    error = await expect_error(resp, 422, "validation_failed")
    assert set(error["details"]) == {"tenant_id", "session_id", "message_id"}
    assert gateway.commands.sent == []


@pytest.mark.asyncio
async def test_broker_down_is_503_with_retry_after(client, gateway, key, expect_error):
    gateway.commands.failure = ConnectionError("broker not connected")
    resp = await client.post("/api/v1/send", json=BODY, headers={"X-API-Key": key, "Idempotency-Key": "k1"})
    await expect_error(resp, 503, "unavailable")
    assert int(resp.headers["Retry-After"]) > 0
    gateway.commands.failure = None  # the released claim lets the retry go through
    resp = await client.post("/api/v1/send", json=BODY, headers={"X-API-Key": key, "Idempotency-Key": "k1"})
    assert resp.status == 202


@pytest.mark.asyncio
async def test_same_idempotency_key_and_body_replays_the_first_answer(client, gateway, key):
    headers = {"X-API-Key": key, "Idempotency-Key": "order-42"}
    first = await client.post("/api/v1/send", json=BODY, headers=headers)
    again = await client.post("/api/v1/send", json=BODY, headers=headers)
    assert first.status == again.status == 202
    assert await first.json() == await again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(gateway.commands.sent) == 1


@pytest.mark.asyncio
async def test_same_idempotency_key_other_body_is_422(client, gateway, key, expect_error):
    headers = {"X-API-Key": key, "Idempotency-Key": "order-42"}
    await client.post("/api/v1/send", json=BODY, headers=headers)
    resp = await client.post("/api/v1/send", json={**BODY, "text": "changed"}, headers=headers)
    await expect_error(resp, 422, "idempotency_mismatch")
    assert len(gateway.commands.sent) == 1


@pytest.mark.asyncio
async def test_idempotency_keys_are_per_api_key(client, gateway, key):
    other, _ = await gateway.api_keys.create(session_id="s_2", tenant_id="u_2")
    for k in (key, other):
        resp = await client.post("/api/v1/send", json=BODY, headers={"X-API-Key": k, "Idempotency-Key": "same"})
        assert resp.status == 202
    assert len(gateway.commands.sent) == 2


@pytest.mark.asyncio
async def test_malformed_idempotency_key_is_422(client, key, expect_error):
    resp = await client.post("/api/v1/send", json=BODY, headers={"X-API-Key": key, "Idempotency-Key": "has space"})
    assert "Idempotency-Key" in (await expect_error(resp, 422, "validation_failed"))["details"]
