"""From a domain event on wagw.events to a signed POST at a local endpoint, with every attempt logged."""

import asyncio
from datetime import datetime, timezone

import pytest

from harness.flows import wait_until
from harness.sink import WebhookSink, verify
from wagw_common.errors import RemoteError

pytestmark = pytest.mark.integration
TENANT = "u_dispatcher_test"


class ScriptedSink(WebhookSink):
    """Answers with the statuses of `script` in turn, then 200."""

    script: list[int] = []

    async def _receive(self, request):
        self.status = self.script.pop(0) if self.script else 200
        return await super()._receive(request)


@pytest.fixture
async def sink():
    sink = ScriptedSink()
    sink.script = []
    await sink.start()
    yield sink
    await sink.stop()


def message_sent(message_id: str, tenant_id: str = TENANT) -> dict:
    return {"tenant_id": tenant_id, "session_id": "s_dispatcher", "message_id": message_id, "status": "sent",
            "to": "628123456789@s.whatsapp.net", "reason": None, "at": datetime.now(timezone.utc)}


async def deliveries_of(rpc, endpoint_id: str) -> list[dict]:
    reply = await rpc.call("webhook.delivery.list", {"tenant_id": TENANT, "endpoint_id": endpoint_id})
    return reply["deliveries"]


async def test_an_event_reaches_the_endpoint_signed_and_logged(dispatcher, sink):
    broker, rpc = dispatcher
    endpoint = await rpc.call("webhook.endpoint.create", {"tenant_id": TENANT, "url": sink.url,
                                                          "events": ["message.sent"]})
    assert endpoint["secret"].startswith("whsec_") and endpoint["enabled"] is True

    event = await broker.publish_event("message.sent", message_sent("m_first"), subject="s_dispatcher")
    received = await sink.wait_for(lambda r: True, timeout=15)
    body = verify(endpoint["secret"], received)
    assert body["type"] == "message.sent" and body["data"]["message_id"] == "m_first"
    assert body["data"]["tenant_id"] == TENANT and body["timestamp"].endswith("Z")
    assert received.headers["webhook-id"] == event.id

    async def settled():
        found = await deliveries_of(rpc, endpoint["endpoint_id"])
        return found if found and found[0]["status"] != "pending" else None

    [delivery] = await wait_until(settled, timeout=10)
    assert delivery["status"] == "succeeded" and delivery["event_id"] == event.id
    assert [a["status_code"] for a in delivery["attempts"]] == [200]

    listed = await rpc.call("webhook.endpoint.list", {"tenant_id": TENANT})
    assert [e["endpoint_id"] for e in listed["endpoints"]] == [endpoint["endpoint_id"]]
    assert "secret" not in listed["endpoints"][0]


async def test_a_failed_attempt_is_retried_and_both_attempts_are_logged(dispatcher, sink):
    broker, rpc = dispatcher
    sink.script = [500]
    endpoint = await rpc.call("webhook.endpoint.create", {"tenant_id": TENANT, "url": sink.url, "events": ["*"]})
    await broker.publish_event("message.sent", message_sent("m_retried"))

    async def settled():
        found = await deliveries_of(rpc, endpoint["endpoint_id"])
        return found if found and found[0]["status"] != "pending" else None

    [delivery] = await wait_until(settled, timeout=15)
    assert delivery["status"] == "succeeded"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
    assert delivery["attempts"][0]["error"] == "HTTP 500" and delivery["attempts"][1]["error"] is None
    # Both requests carry the same webhook-id, so the receiver can tell it is one event.
    assert len(sink.received) == 2
    assert sink.received[0].headers["webhook-id"] == sink.received[1].headers["webhook-id"]
    for received in sink.received:
        verify(endpoint["secret"], received)


async def test_filters_sessions_and_tenants_decide_who_gets_an_event(dispatcher, sink):
    broker, rpc = dispatcher
    other_session = await rpc.call("webhook.endpoint.create", {"tenant_id": TENANT, "url": sink.url + "?other-session",
                                                               "session_id": "s_elsewhere"})
    other_event = await rpc.call("webhook.endpoint.create", {"tenant_id": TENANT, "url": sink.url + "?other-event",
                                                             "events": ["message.read"]})
    other_tenant = await rpc.call("webhook.endpoint.create", {"tenant_id": "u_someone_else",
                                                              "url": sink.url + "?other-tenant"})
    wanted = await rpc.call("webhook.endpoint.create", {"tenant_id": TENANT, "url": sink.url + "?wanted",
                                                        "events": ["message.*"], "session_id": "s_dispatcher"})
    await broker.publish_event("message.sent", message_sent("m_filtered"))
    await sink.wait_for(lambda r: True, timeout=15)
    await asyncio.sleep(1)  # time for any wrong delivery to arrive too
    assert len(sink.received) == 1
    assert await deliveries_of(rpc, wanted["endpoint_id"])
    for endpoint_id in (other_session["endpoint_id"], other_event["endpoint_id"]):
        assert await deliveries_of(rpc, endpoint_id) == []
    # Another tenant's endpoint looks exactly like a missing one.
    with pytest.raises(RemoteError) as caught:
        await deliveries_of(rpc, other_tenant["endpoint_id"])
    assert caught.value.code == "not_found"


async def test_bad_endpoint_requests_are_refused_with_details(dispatcher):
    _, rpc = dispatcher
    with pytest.raises(RemoteError) as caught:
        await rpc.call("webhook.endpoint.create", {"tenant_id": TENANT, "url": "https://example.com/hooks",
                                                   "events": ["message.snet"]})
    assert caught.value.code == "invalid" and caught.value.details == {"events": ["unknown event type: message.snet"]}
