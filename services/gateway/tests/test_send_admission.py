"""A send to a session that cannot take one is refused at once, from the status the orchestrator
keeps in Redis (no request/reply): CONNECTED and RECONNECTING take sends, others answer 409 unless
the request asks to be queued; an unknown status lets the send through. A deleted session's keys
are revoked when `session.deleted` arrives."""

from dataclasses import replace

import pytest
from wagw_common import topology
from wagw_common.testing import serve

from wagw_gateway.router import router

pytestmark = pytest.mark.unit

BODY = {"to": "628123456789", "text": "hello"}
SEND = "/api/v1/send"


class StatusCache:
    """The gateway's reads of the orchestrator's status cache: alone, or in one pipeline with the
    key's account state (not cached here: it is read from the users store)."""

    def __init__(self):
        self.statuses: dict[str, str] = {}
        self.round_trips = self.status_reads = 0

    async def hget(self, key, field):
        assert field == "status"
        self.status_reads += 1
        return self.statuses.get(key.removeprefix("session-status:"))

    async def get(self, key):
        assert key.startswith("gateway:account:")
        return None

    def pipeline(self, transaction=True):
        return _Pipeline(self)


class _Pipeline:
    def __init__(self, redis):
        self.redis, self.calls = redis, []

    def get(self, *args):
        self.calls.append(self.redis.get(*args))

    def hget(self, *args):
        self.calls.append(self.redis.hget(*args))

    async def execute(self):
        self.redis.round_trips += 1
        return [await call for call in self.calls]


@pytest.fixture
def status_cache() -> StatusCache:
    return StatusCache()


@pytest.fixture
def gateway(gateway, status_cache):
    """The gateway reading session statuses from `status_cache` (its stores keep their own Redis)."""
    return replace(gateway, redis=status_cache)


@pytest.fixture
def cache(status_cache):
    return status_cache.statuses


@pytest.mark.parametrize("status", [None, "CONNECTED", "RECONNECTING"])
async def test_a_session_that_takes_sends_or_is_unknown_gets_them_on_its_shard(client, gateway, key_for, cache,
                                                                               status):
    if status:
        cache["s_1"] = status
    resp = await client.post(SEND, json=BODY, headers={"X-API-Key": await key_for("s_1", "u_1")})
    assert resp.status == 202
    assert [p.routing_key for p in gateway.broker.published] == [topology.send_routing_key("s_1")]
    assert gateway.rpc.calls == []
    # The status was read once, with the account state, in one round trip.
    assert (gateway.redis.round_trips, gateway.redis.status_reads) == (1, 1)


@pytest.mark.parametrize("status", ["DISCONNECTED", "CONNECTING", "QR_REQUIRED", "LOGGED_OUT", "ERROR"])
async def test_other_statuses_answer_409_with_the_status_and_nothing_is_sent_or_counted(
        client, key_for, cache, expect_error, status, sent_commands):
    cache["s_1"] = status
    key = await key_for("s_1", "u_1")
    resp = await client.post(SEND, json=BODY, headers={"X-API-Key": key, "Idempotency-Key": "k1"})
    error = await expect_error(resp, 409, "session_not_connected")
    assert error["details"]["status"] == status
    assert sent_commands() == []
    # Asked to be queued, it is accepted (held by the orchestrator); the refused idempotency key is free again.
    resp = await client.post(SEND, json={**BODY, "queue": True}, headers={"X-API-Key": key, "Idempotency-Key": "k1"})
    assert resp.status == 202 and len(sent_commands()) == 1


async def test_a_deleted_session_is_not_found(client, key_for, cache, expect_error):
    cache["s_1"] = "DELETED"
    resp = await client.post(SEND, json={**BODY, "queue": True}, headers={"X-API-Key": await key_for("s_1", "u_1")})
    await expect_error(resp, 404, "not_found")


async def test_session_deleted_revokes_the_sessions_own_and_bound_keys_only(client, gateway, key_for):
    own, other = await key_for("s_1", "u_1"), await key_for("s_2", "u_1")
    bound, _ = await gateway.api_keys.create_user_key(tenant_id="u_1", name="b", scopes=["messages:send"],
                                                      session_id="s_1")
    free, _ = await gateway.api_keys.create_user_key(tenant_id="u_1", name="f", scopes=["messages:send"],
                                                     session_id=None)
    async with serve(router, gateway, gateway.broker):
        orchestrator = gateway.broker.speaking_as(source="session-orchestrator", user_id=None)
        event = orchestrator.envelope("session.deleted", {"tenant_id": "u_1", "session_id": "s_1", "sequence": 7})
        for _ in range(2):  # a redelivery changes nothing
            await orchestrator.publish(event, exchange=topology.EVENTS, routing_key=event.type, mandatory=True)
        await gateway.broker.settled()
    assert [await gateway.api_keys.lookup(k) is None for k in (own, bound, other, free)] == [True, True, False, False]
    resp = await client.post(SEND, json=BODY, headers={"X-API-Key": own})
    assert resp.status == 401
