"""Sending: a confirmed command, never request/reply; 503 when the broker cannot take it;
Idempotency-Key makes a retry a no-op; the tier's send rate; today's count."""

import re

import pytest
import pytest_asyncio
from wagw_common.errors import RemoteError

from wagw_gateway.usage import counter_key, today

pytestmark = pytest.mark.unit

BODY = {"to": "628123456789", "text": "hello"}
SEND = "/api/v1/send"


@pytest_asyncio.fixture
async def key(key_for):
    return await key_for(session_id="s_1", tenant_id="u_1")


async def test_send_publishes_the_command_with_the_keys_identity(client, gateway, key, sent_commands):
    resp = await client.post(SEND, json={**BODY, "type": "text"}, headers={"X-API-Key": key})
    assert resp.status == 202
    accepted = await resp.json()
    assert accepted["status"] == "queued" and re.fullmatch(r"m_[0-9a-f]{16}", accepted["message_id"])
    expected = {**BODY, "type": "text", "tenant_id": "u_1", "session_id": "s_1", "message_id": accepted["message_id"]}
    [(command_type, command, subject)] = sent_commands()
    assert (command_type, subject) == ("message.send", "s_1") and expected.items() <= command.items()
    assert gateway.rpc.calls == []  # the thin path: no request/reply
    assert int(resp.headers["RateLimit-Remaining"]) < int(resp.headers["RateLimit-Limit"])


async def test_the_client_cannot_choose_tenant_session_or_message_id(client, key, expect_error, sent_commands):
    forged = {**BODY, "tenant_id": "u_2", "session_id": "s_2", "message_id": "m_1"}
    resp = await client.post(SEND, json=forged, headers={"X-API-Key": key})
    error = await expect_error(resp, 422, "validation_failed")
    assert set(error["details"]) == {"tenant_id", "session_id", "message_id"}
    assert sent_commands() == []


async def test_broker_down_is_503_with_retry_after_and_not_counted(client, gateway, key, expect_error):
    gateway.broker.is_connected = False
    resp = await client.post(SEND, json=BODY, headers={"X-API-Key": key, "Idempotency-Key": "k1"})
    await expect_error(resp, 503, "unavailable")
    assert int(resp.headers["Retry-After"]) > 0
    assert await gateway.usage.sent_on("u_1", today()) == 0
    gateway.broker.is_connected = True  # the released claim lets the retry go through
    resp = await client.post(SEND, json=BODY, headers={"X-API-Key": key, "Idempotency-Key": "k1"})
    assert resp.status == 202


async def test_same_idempotency_key_and_body_replays_the_first_answer(client, gateway, key, sent_commands):
    headers = {"X-API-Key": key, "Idempotency-Key": "order-42"}
    first = await client.post(SEND, json=BODY, headers=headers)
    again = await client.post(SEND, json=BODY, headers=headers)
    assert first.status == again.status == 202
    assert await first.json() == await again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(sent_commands()) == 1
    assert await gateway.usage.sent_on("u_1", today()) == 1


async def test_same_idempotency_key_other_body_is_422(client, key, expect_error, sent_commands):
    headers = {"X-API-Key": key, "Idempotency-Key": "order-42"}
    await client.post(SEND, json=BODY, headers=headers)
    resp = await client.post(SEND, json={**BODY, "text": "changed"}, headers=headers)
    await expect_error(resp, 422, "idempotency_mismatch")
    assert len(sent_commands()) == 1


async def test_idempotency_keys_are_per_api_key(client, key, key_for, sent_commands):
    other = await key_for(session_id="s_2", tenant_id="u_2")
    for k in (key, other):
        resp = await client.post(SEND, json=BODY, headers={"X-API-Key": k, "Idempotency-Key": "same"})
        assert resp.status == 202
    assert len(sent_commands()) == 2


async def test_malformed_idempotency_key_is_422(client, key, expect_error):
    resp = await client.post(SEND, json=BODY, headers={"X-API-Key": key, "Idempotency-Key": "has space"})
    assert "Idempotency-Key" in (await expect_error(resp, 422, "validation_failed"))["details"]


async def test_the_tiers_send_rate_is_a_429_with_retry_after(client, gateway, key, expect_error, sent_commands):
    rate = gateway.settings.tier_send_rates["BASIC"]
    for _ in range(rate):
        assert (await client.post(SEND, json=BODY, headers={"X-API-Key": key})).status == 202
    resp = await client.post(SEND, json=BODY, headers={"X-API-Key": key})
    error = await expect_error(resp, 429, "rate_limited")
    assert error["details"]["limit"] == "send"
    assert resp.headers["RateLimit-Limit"] == str(rate) and resp.headers["RateLimit-Remaining"] == "0"
    assert 0 < int(resp.headers["Retry-After"]) <= 60 and resp.headers["RateLimit-Reset"]
    assert len(sent_commands()) == rate
    assert gateway.usage.redis.values[counter_key("u_1", today())] == str(rate)  # refusals are not counted
    gateway.limiter.now += 60  # the window passed
    assert (await client.post(SEND, json=BODY, headers={"X-API-Key": key})).status == 202


async def test_invalid_bodies_cost_no_send_budget(client, gateway, key):
    for _ in range(3):
        assert (await client.post(SEND, json={"to": "x"}, headers={"X-API-Key": key})).status == 422
    assert await gateway.usage.sent_on("u_1", today()) == 0


async def test_a_user_key_must_be_bound_to_a_session_to_use_send(client, gateway, auth, expect_error):
    resp = await client.post("/api/v1/api-keys", json={"name": "n", "scopes": ["messages:send"]}, headers=auth("u_1"))
    unbound = (await resp.json())["api_key"]
    await expect_error(await client.post(SEND, json=BODY, headers={"X-API-Key": unbound}), 403, "forbidden")
    await expect_error(await client.post(SEND, json=BODY, headers=auth("u_1")), 401, "unauthorized")


async def test_sending_through_a_named_session_checks_ownership_first(client, gateway, auth, expect_error,
                                                                      sent_commands):
    gateway.rpc.replies["session.get"] = RemoteError("not_found", "no such session")
    resp = await client.post("/api/v1/sessions/s_bobs/messages", json=BODY, headers=auth("u_1"))
    await expect_error(resp, 404, "not_found")
    gateway.rpc.replies["session.get"] = {"session_id": "s_1"}
    resp = await client.post("/api/v1/sessions/s_1/messages", json=BODY, headers=auth("u_1"))
    assert resp.status == 202
    [(_, command, _)] = sent_commands()
    assert command["session_id"] == "s_1" and command["tenant_id"] == "u_1"


async def test_usage_counts_todays_sends_and_sessions_against_the_tier(client, gateway, key, auth):
    for _ in range(3):
        await client.post(SEND, json=BODY, headers={"X-API-Key": key})
    gateway.rpc.replies["session.list"] = {"sessions": [{"session_id": "s_1"}]}
    usage = await (await client.get("/api/v1/users/me/usage", headers=auth("u_1"))).json()
    assert usage["tier"] == "BASIC" and usage["sessions"] == {"used": 1, "limit": 1}
    assert usage["messages"]["sent"] == 3 and usage["messages"]["day"] == today()
    assert usage["messages"]["send_rate_per_minute"] == gateway.settings.tier_send_rates["BASIC"]
    # MongoDB holds the count too (flushed in the background), so a Redis restart loses nothing.
    await gateway.usage.flush()
    gateway.usage.redis.values.clear()
    assert await gateway.usage.sent_on("u_1", today()) == 3
