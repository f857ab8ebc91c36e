"""Endpoints and the delivery log over the dispatcher's queries: change, delete, enable/disable,
secret rotation with overlap, test events, redelivery by hand, filters and pages, auto-disable."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from harness.flows import wait_until
from harness.sink import verify
from wagw_common.envelope import MalformedMessage
from wagw_common.errors import RemoteError

pytestmark = pytest.mark.integration
TENANT = "u_dispatcher_test"


def ref(endpoint, **extra):
    return {"tenant_id": TENANT, "endpoint_id": endpoint["endpoint_id"], **extra}


async def refused(call, code):
    with pytest.raises(RemoteError) as caught:
        await call
    assert caught.value.code == code, caught.value
    return caught.value


async def test_get_update_and_delete_an_endpoint(dispatcher, sinks):
    sink = await sinks()
    endpoint = await dispatcher.create_endpoint(sink.url, description="first")
    assert (await dispatcher.call("webhook.endpoint.get", ref(endpoint)))["description"] == "first"
    changed = await dispatcher.call("webhook.endpoint.update", ref(endpoint, events=["message.read", "message.read"],
                                                                   description="second", headers={"X-A": "1"}))
    assert changed["events"] == ["message.read"] and changed["description"] == "second"
    assert changed["headers"] == {"x-a": "1"} and changed["updated_at"] >= changed["created_at"]
    await refused(dispatcher.call("webhook.endpoint.update", ref(endpoint, events=["message.nope"])), "invalid")
    await refused(dispatcher.call("webhook.endpoint.update", ref(endpoint, url="http://10.0.0.1/h")), "invalid")
    with pytest.raises(MalformedMessage):  # nothing to change: the contract refuses it before it is sent
        await dispatcher.call("webhook.endpoint.update", ref(endpoint))
    await refused(dispatcher.call("webhook.endpoint.get", {**ref(endpoint), "tenant_id": "u_other"}), "not_found")

    await dispatcher.call("webhook.endpoint.update", ref(endpoint, events=["*"]))
    await dispatcher.message_event("m_before_delete")
    await dispatcher.settled(endpoint["endpoint_id"])
    assert await dispatcher.call("webhook.endpoint.delete", ref(endpoint)) == {
        "endpoint_id": endpoint["endpoint_id"], "deleted": True}
    await refused(dispatcher.call("webhook.endpoint.get", ref(endpoint)), "not_found")
    await refused(dispatcher.call("webhook.endpoint.delete", ref(endpoint)), "not_found")
    await refused(dispatcher.deliveries(endpoint["endpoint_id"]), "not_found")


async def test_disable_and_enable_are_announced_and_a_disabled_endpoint_gets_nothing(dispatcher, sinks):
    sink = await sinks()
    endpoint = await dispatcher.create_endpoint(sink.url)
    async with dispatcher.webhook_events() as events:
        disabled = await dispatcher.call("webhook.endpoint.disable", ref(endpoint))
        assert disabled["enabled"] is False and disabled["disabled_reason"] == "customer"
        again = await dispatcher.call("webhook.endpoint.disable", ref(endpoint))
        assert again["disabled_at"] == disabled["disabled_at"]
        await dispatcher.message_event("m_while_disabled")
        await asyncio.sleep(0.5)
        assert sink.received == []
        enabled = await dispatcher.call("webhook.endpoint.enable", ref(endpoint))
        assert enabled["enabled"] is True and enabled["disabled_reason"] is None
        await wait_until(_types(events, "webhook.endpoint_disabled", "webhook.endpoint_enabled"), 10)
    await dispatcher.message_event("m_after_enable")
    await sink.wait_for(lambda s: len(s.received) == 1)
    assert sink.received[0].payload["data"]["message_id"] == "m_after_enable"


async def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(dispatcher, sinks):
    sink = await sinks()
    endpoint = await dispatcher.create_endpoint(sink.url)
    old = endpoint["secret"]
    rotated = await dispatcher.call("webhook.endpoint.rotate_secret", ref(endpoint, overlap_seconds=3600))
    new = rotated["secret"]
    assert new != old and new.startswith("whsec_")
    assert rotated["previous_secret_expires_at"] > datetime.now(timezone.utc).isoformat()
    await dispatcher.message_event("m_during_overlap")
    await sink.wait_for(lambda s: len(s.received) == 1)
    during = sink.received[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    verify(old, during)  # a receiver not yet updated
    verify(new, during)  # a receiver already updated

    final = await dispatcher.call("webhook.endpoint.rotate_secret", ref(endpoint, overlap_seconds=0))
    await dispatcher.message_event("m_after_overlap")
    await sink.wait_for(lambda s: len(s.received) == 2)
    after = sink.received[1]
    verify(final["secret"], after)
    # The first secret's overlap is still running; the second one's was cut to nothing.
    verify(old, after)
    with pytest.raises(WebhookVerificationError):
        verify(new, after)


async def test_a_test_event_is_delivered_even_to_a_disabled_endpoint_and_logged(dispatcher, sinks):
    sink = await sinks()
    endpoint = await dispatcher.create_endpoint(sink.url, events=["message.read"], session_id="s_only")
    await dispatcher.call("webhook.endpoint.disable", ref(endpoint))
    queued = await dispatcher.call("webhook.endpoint.test", ref(endpoint, event_type="webhook.test"))
    assert queued["test"] is True and queued["status"] == "pending" and queued["event_type"] == "webhook.test"
    example = await dispatcher.call("webhook.endpoint.test", ref(endpoint, event_type="message.received"))
    await sink.wait_for(lambda s: len(s.received) == 2)
    bodies = {verify(endpoint["secret"], r)["type"]: r.payload for r in sink.received}
    assert bodies["webhook.test"]["data"]["endpoint_id"] == endpoint["endpoint_id"]
    assert bodies["message.received"]["data"]["tenant_id"] == TENANT
    assert bodies["message.received"]["data"]["session_id"] == "s_only"
    listed = await dispatcher.settled(endpoint["endpoint_id"], count=2)
    assert {d["delivery_id"] for d in listed} == {queued["delivery_id"], example["delivery_id"]}
    assert all(d["test"] and d["status"] == "succeeded" for d in listed)
    await refused(dispatcher.call("webhook.endpoint.test", ref(endpoint, event_type="worker.online")), "invalid")


async def test_a_delivery_is_redelivered_by_hand_with_the_same_webhook_id(dispatcher, sinks):
    sink = await sinks(lambda received: 500 if len(sink.received) <= 4 else 200)
    endpoint = await dispatcher.create_endpoint(sink.url)
    await dispatcher.message_event("m_replayed")
    [failed] = await dispatcher.settled(endpoint["endpoint_id"])
    assert failed["status"] == "failed" and failed["attempt_count"] == 4

    again = await dispatcher.call("webhook.delivery.redeliver", ref(endpoint, delivery_id=failed["delivery_id"]))
    assert again["status"] == "pending"
    [done] = await dispatcher.settled(endpoint["endpoint_id"])
    assert done["status"] == "succeeded" and done["attempt_count"] == 5
    detail = await dispatcher.delivery(endpoint["endpoint_id"], failed["delivery_id"])
    assert [(a["cycle"], a["attempt"]) for a in detail["attempts"]] == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1)]
    assert len(sink.ids) == 1 and len(sink.received) == 5

    # A success can be replayed too; a disabled endpoint is refused; another tenant sees nothing.
    await dispatcher.call("webhook.delivery.redeliver", ref(endpoint, delivery_id=failed["delivery_id"]))
    await sink.wait_for(lambda s: len(s.received) == 6)
    await dispatcher.call("webhook.endpoint.disable", ref(endpoint))
    redeliver = dispatcher.call("webhook.delivery.redeliver", ref(endpoint, delivery_id=failed["delivery_id"]))
    error = await refused(redeliver, "conflict")
    assert error.details == {"disabled_reason": "customer"}
    await refused(dispatcher.call("webhook.delivery.get", {**ref(endpoint, delivery_id=failed["delivery_id"]),
                                                           "tenant_id": "u_other"}), "not_found")
    await refused(dispatcher.call("webhook.delivery.get", ref(endpoint, delivery_id="dl_nothing")), "not_found")


async def test_filters_sessions_and_tenants_decide_who_gets_an_event(dispatcher, sinks):
    sink = await sinks()
    other_session = await dispatcher.create_endpoint(sink.url + "?other-session", session_id="s_elsewhere")
    other_event = await dispatcher.create_endpoint(sink.url + "?other-event", events=["message.read"])
    other_tenant = await dispatcher.create_endpoint(sink.url + "?other-tenant", tenant_id="u_someone_else")
    wanted = await dispatcher.create_endpoint(sink.url + "?wanted", events=["message.*"], session_id="s_dispatcher")
    await dispatcher.message_event("m_filtered")
    await sink.wait_for(lambda s: s.received)
    await asyncio.sleep(1)  # time for any wrong delivery to arrive too
    assert len(sink.received) == 1
    assert await dispatcher.deliveries(wanted["endpoint_id"])
    for endpoint_id in (other_session["endpoint_id"], other_event["endpoint_id"]):
        assert await dispatcher.deliveries(endpoint_id) == []
    # Another tenant's endpoint looks exactly like a missing one.
    await refused(dispatcher.deliveries(other_tenant["endpoint_id"]), "not_found")
    error = await refused(dispatcher.create_endpoint("https://example.com/hooks", events=["message.snet"]), "invalid")
    assert error.details == {"events": ["unknown event type: message.snet"]}


async def test_the_delivery_log_filters_and_pages(dispatcher, sinks):
    sink = await sinks(lambda received: 500 if received.payload["data"]["message_id"].startswith("m_bad") else 200)
    endpoint = await dispatcher.create_endpoint(sink.url)
    for i in range(5):
        await dispatcher.message_event(f"m_good_{i}", status="sent" if i % 2 else "read")
    await dispatcher.message_event("m_bad_1")
    listed = await dispatcher.settled(endpoint["endpoint_id"], count=6)
    eid = endpoint["endpoint_id"]
    assert [d["status"] for d in await dispatcher.deliveries(eid, status="failed")] == ["failed"]
    assert len(await dispatcher.deliveries(eid, status="succeeded")) == 5
    assert len(await dispatcher.deliveries(eid, event_type="message.read")) == 3
    newest = listed[0]["created_at"]
    assert await dispatcher.deliveries(eid, since=datetime.fromisoformat(newest) + timedelta(seconds=1)) == []
    assert len(await dispatcher.deliveries(eid, until=datetime.now(timezone.utc) + timedelta(hours=1))) == 6

    pages, cursor = [], None
    while True:
        page = await dispatcher.call("webhook.delivery.list", ref(endpoint, limit=4, before=cursor))
        pages.append(page["deliveries"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [4, 2]
    assert [d["delivery_id"] for p in pages for d in p] == [d["delivery_id"] for d in listed]
    created = [d["created_at"] for d in listed]
    assert created == sorted(created, reverse=True)


async def test_an_endpoint_failing_continuously_is_disabled_with_a_reason(start_dispatcher, sinks):
    dispatcher = await start_dispatcher(WEBHOOK_DISABLE_AFTER_SECONDS="1",
                                        WEBHOOK_RETRY_SCHEDULE="400ms,400ms,400ms,400ms")
    sink = await sinks(lambda received: 503)
    endpoint = await dispatcher.create_endpoint(sink.url)
    async with dispatcher.webhook_events() as events:
        await dispatcher.message_event("m_failing")
        disabled = await wait_until(lambda: _first(events, "webhook.endpoint_disabled"), timeout=15)
    assert disabled.data["reason"] == "failing" and disabled.data["failing_since"]
    seen = await dispatcher.call("webhook.endpoint.get", ref(endpoint))
    assert seen["enabled"] is False and seen["disabled_reason"] == "failing"
    assert "failing continuously since" in seen["disabled_message"] and "HTTP 503" in seen["disabled_message"]
    # The rest of the delivery is dropped, not attempted against a disabled endpoint.
    [delivery] = await dispatcher.settled(endpoint["endpoint_id"])
    assert delivery["status"] == "failed" and delivery["failure_reason"] in {"endpoint_disabled", "exhausted"}
    enabled = await dispatcher.call("webhook.endpoint.enable", ref(endpoint))
    assert enabled["failing_since"] is None and enabled["disabled_message"] is None


def _types(events, *expected):
    async def probe():
        return [e.type for e in events] == list(expected)

    return probe


async def _first(events, event_type):
    return next((e for e in events if e.type == event_type), None)
