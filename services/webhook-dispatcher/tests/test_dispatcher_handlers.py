"""The handlers with in-memory stores: idempotent fan-out, the attempt budget, refusals at creation."""

from datetime import datetime, timezone

import pytest

from wagw_common.envelope import Envelope
from wagw_common.errors import DomainError, NotFound
from wagw_webhook_dispatcher import handlers
from wagw_webhook_dispatcher.deliveries_store import FAILED, PENDING, SUCCEEDED, delivery_id_for

pytestmark = pytest.mark.unit
TENANT = "u_tenant"
AT = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


class FakeEndpoints:
    def __init__(self, *docs):
        self.docs = {d["_id"]: d for d in docs}

    async def add(self, doc):
        self.docs[doc["_id"]] = doc

    async def get(self, endpoint_id):
        return self.docs.get(endpoint_id)

    async def get_for_tenant(self, tenant_id, endpoint_id):
        doc = self.docs.get(endpoint_id)
        return doc if doc and doc["tenant_id"] == tenant_id else None

    async def enabled_for_tenant(self, tenant_id):
        return [d for d in self.docs.values() if d["tenant_id"] == tenant_id and d["enabled"]]


class FakeDeliveries:
    def __init__(self):
        self.docs = {}

    async def create_once(self, *, endpoint, event_id, event_type, payload):
        delivery_id = delivery_id_for(endpoint["_id"], event_id)
        return self.docs.setdefault(delivery_id, {
            "_id": delivery_id, "endpoint_id": endpoint["_id"], "event_id": event_id, "event_type": event_type,
            "payload": payload, "status": PENDING, "attempts": [], "created_at": AT})

    async def get(self, delivery_id):
        doc = self.docs.get(delivery_id)
        return {**doc, "attempts": list(doc["attempts"])} if doc else None

    async def record_attempt(self, delivery_id, attempt, *, succeeded):
        self.docs[delivery_id]["attempts"].append(attempt)
        if succeeded:
            self.docs[delivery_id]["status"] = SUCCEEDED

    async def mark_failed(self, delivery_id):
        if self.docs[delivery_id]["status"] == PENDING:
            self.docs[delivery_id]["status"] = FAILED

    async def list_for_endpoint(self, endpoint_id):
        return [d for d in self.docs.values() if d["endpoint_id"] == endpoint_id]


def an_endpoint(id_="wh_1", **extra):
    return {"_id": id_, "tenant_id": TENANT, "url": "https://example.com/h", "events": ["*"], "session_id": None,
            "description": "", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "enabled": True,
            "created_at": AT, **extra}


def sent_event(event_id="evt_1"):
    return Envelope(type="message.sent", source="test", id=event_id, time=AT, data={
        "tenant_id": TENANT, "session_id": "s_1", "message_id": "m_1", "status": "sent", "to": "628123456789",
        "reason": None, "at": AT})


def create_request(**data):
    return Envelope(type="webhook.endpoint.create", source="test", data={
        "tenant_id": TENANT, "url": "https://example.com/h", "events": ["*"], "session_id": None,
        "description": "", **data})


async def test_a_redelivered_event_makes_no_second_delivery_but_requeues_a_pending_one():
    endpoints, deliveries, queued = FakeEndpoints(an_endpoint()), FakeDeliveries(), []

    async def enqueue(delivery_id, **_):
        queued.append(delivery_id)

    for _ in range(2):
        await handlers.when_domain_event_occurred_queue_deliveries(sent_event(), endpoints=endpoints,
                                                                   deliveries=deliveries, enqueue=enqueue)
    [delivery] = deliveries.docs.values()
    assert queued == [delivery["_id"], delivery["_id"]]
    assert delivery["payload"]["data"]["at"] == "2026-01-01T12:00:00+00:00"  # JSON-ready, as the contract dumps it

    delivery["status"] = SUCCEEDED
    await handlers.when_domain_event_occurred_queue_deliveries(sent_event(), endpoints=endpoints,
                                                               deliveries=deliveries, enqueue=enqueue)
    assert len(queued) == 2


async def _attempt(deliveries, endpoints, status_code, max_attempts=3):
    async def post(**_):
        return {"at": AT, "status_code": status_code, "latency_ms": 1.0,
                "error": None if status_code == 200 else f"HTTP {status_code}", "response_body": ""}

    job = Envelope(type="webhook.delivery.attempt", source="test", data={"delivery_id": next(iter(deliveries.docs))})
    await handlers.when_delivery_job_received_attempt_it(job, endpoints=endpoints, deliveries=deliveries, post=post,
                                                         max_attempts=max_attempts)


async def test_failed_attempts_raise_until_the_budget_is_spent_then_the_delivery_fails():
    endpoints, deliveries = FakeEndpoints(an_endpoint()), FakeDeliveries()
    await deliveries.create_once(endpoint=an_endpoint(), event_id="evt_1", event_type="message.sent", payload={})
    for _ in range(2):
        with pytest.raises(handlers.DeliveryAttemptFailed):
            await _attempt(deliveries, endpoints, 503)
    await _attempt(deliveries, endpoints, 503)  # the last one: recorded, no retry asked for
    [delivery] = deliveries.docs.values()
    assert delivery["status"] == FAILED and len(delivery["attempts"]) == 3
    await _attempt(deliveries, endpoints, 200)  # a late duplicate job changes nothing
    assert delivery["status"] == FAILED and len(delivery["attempts"]) == 3


async def test_a_successful_attempt_settles_the_delivery():
    endpoints, deliveries = FakeEndpoints(an_endpoint()), FakeDeliveries()
    await deliveries.create_once(endpoint=an_endpoint(), event_id="evt_1", event_type="message.sent", payload={})
    await _attempt(deliveries, endpoints, 200)
    [delivery] = deliveries.docs.values()
    assert delivery["status"] == SUCCEEDED and len(delivery["attempts"]) == 1


async def test_creation_refuses_private_urls_unless_allowed():
    with pytest.raises(DomainError) as caught:
        await handlers.when_endpoint_create_requested_register_it(
            create_request(url="http://127.0.0.1:9000/h"), endpoints=FakeEndpoints(), allow_private_networks=False)
    assert caught.value.code == "invalid" and "url" in caught.value.details
    created = await handlers.when_endpoint_create_requested_register_it(
        create_request(url="http://127.0.0.1:9000/h", events=["message.sent", "message.sent"]),
        endpoints=FakeEndpoints(), allow_private_networks=True)
    assert created["endpoint_id"].startswith("wh_") and created["secret"].startswith("whsec_")
    assert created["events"] == ["message.sent"]


async def test_another_tenants_endpoint_is_not_found():
    with pytest.raises(NotFound):
        await handlers.when_delivery_list_requested_list_them(
            Envelope(type="webhook.delivery.list", source="test", data={"tenant_id": "u_other", "endpoint_id": "wh_1"}),
            endpoints=FakeEndpoints(an_endpoint()), deliveries=FakeDeliveries())
