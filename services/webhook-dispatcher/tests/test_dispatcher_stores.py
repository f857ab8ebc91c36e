"""The stores against the local MongoDB-compatible server: the operations the dispatcher relies on."""

import uuid

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from harness.infra import MONGO_URI
from wagw_common.storage import utc_now
from wagw_webhook_dispatcher.deliveries_store import FAILED, PENDING, SUCCEEDED, DeliveriesStore
from wagw_webhook_dispatcher.endpoints_store import EndpointsStore

pytestmark = pytest.mark.integration


@pytest.fixture
async def db():
    client = AsyncMongoClient(MONGO_URI, tz_aware=True)
    name = f"wagw_test_dispatcher_{uuid.uuid4().hex[:8]}"
    yield client[name]
    await client.drop_database(name)
    await client.close()


ENDPOINT = {"_id": "wh_1", "tenant_id": "u_1", "url": "https://example.com", "events": ["*"], "session_id": None,
            "description": "", "secret": "whsec_x", "enabled": True}


async def test_a_delivery_is_created_once_per_endpoint_and_event(db):
    deliveries = DeliveriesStore(db)
    await deliveries.ensure_indexes()
    first = await deliveries.create_once(endpoint=ENDPOINT, event_id="evt_1", event_type="message.sent",
                                         payload={"type": "message.sent"})
    again = await deliveries.create_once(endpoint=ENDPOINT, event_id="evt_1", event_type="message.sent",
                                         payload={"type": "changed"})
    assert first["_id"] == again["_id"] and again["payload"] == {"type": "message.sent"} and again["status"] == PENDING
    assert await db["webhook_deliveries"].count_documents({}) == 1
    # The unique index guards the pair even against a differently-made id.
    with pytest.raises(DuplicateKeyError):
        await db["webhook_deliveries"].insert_one({"_id": "dl_other", "endpoint_id": "wh_1", "event_id": "evt_1"})


async def test_attempts_are_appended_and_success_is_not_overwritten_by_failure(db):
    deliveries = DeliveriesStore(db)
    created = await deliveries.create_once(endpoint=ENDPOINT, event_id="evt_2", event_type="message.sent", payload={})
    attempt = {"at": utc_now(), "status_code": 500, "latency_ms": 3.2, "error": "HTTP 500", "response_body": "no"}
    await deliveries.record_attempt(created["_id"], attempt, succeeded=False)
    await deliveries.record_attempt(created["_id"], {**attempt, "status_code": 200, "error": None}, succeeded=True)
    await deliveries.mark_failed(created["_id"])
    stored = await deliveries.get(created["_id"])
    assert stored["status"] == SUCCEEDED and [a["status_code"] for a in stored["attempts"]] == [500, 200]
    [listed] = await deliveries.list_for_endpoint("wh_1")
    assert "payload" not in listed

    other = await deliveries.create_once(endpoint=ENDPOINT, event_id="evt_3", event_type="message.sent", payload={})
    await deliveries.mark_failed(other["_id"])
    assert (await deliveries.get(other["_id"]))["status"] == FAILED


async def test_endpoints_are_scoped_to_their_tenant(db):
    endpoints = EndpointsStore(db)
    await endpoints.ensure_indexes()
    await endpoints.add({**ENDPOINT, "created_at": utc_now()})
    await endpoints.add({**ENDPOINT, "_id": "wh_off", "enabled": False, "created_at": utc_now()})
    assert await endpoints.get_for_tenant("u_2", "wh_1") is None
    assert (await endpoints.get_for_tenant("u_1", "wh_1"))["url"] == "https://example.com"
    assert [e["_id"] for e in await endpoints.list_for_tenant("u_1")] == ["wh_1", "wh_off"]
    assert [e["_id"] for e in await endpoints.enabled_for_tenant("u_1")] == ["wh_1"]
