"""The stores against the local MongoDB-compatible server: the operations the dispatcher relies on."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from harness.infra import MONGO_URI
from wagw_common.storage import utc_now
from wagw_webhook_dispatcher.deliveries_store import FAILED, PENDING, SUCCEEDED, DeliveriesStore, delivery_view
from wagw_webhook_dispatcher.endpoints_store import EndpointsStore, endpoint_view, new_endpoint, signing_secrets

pytestmark = pytest.mark.integration


@pytest.fixture
async def db():
    client = AsyncMongoClient(MONGO_URI, tz_aware=True)
    name = f"wagw_test_dispatcher_{uuid.uuid4().hex[:8]}"
    yield client[name]
    await client.drop_database(name)
    await client.close()


def an_endpoint(tenant_id="u_1", **extra):
    return {**new_endpoint(tenant_id=tenant_id, url="https://example.com", events=["*"], session_id=None,
                           description="", headers={}, secret="whsec_current"), **extra}


ATTEMPT = {"at": None, "status_code": 500, "latency_ms": 3.2, "error": "HTTP 500", "response_body": "no",
           "cycle": 1, "attempt": 1}


async def test_a_delivery_is_created_once_per_endpoint_and_event(db):
    deliveries, endpoint = DeliveriesStore(db), an_endpoint()
    await deliveries.ensure_indexes()
    first = await deliveries.create_once(endpoint=endpoint, event_id="evt_1", event_type="message.sent",
                                         payload={"type": "message.sent"})
    again = await deliveries.create_once(endpoint=endpoint, event_id="evt_1", event_type="message.sent",
                                         payload={"type": "changed"})
    assert first["_id"] == again["_id"] and again["payload"] == {"type": "message.sent"} and again["status"] == PENDING
    assert await db["webhook_deliveries"].count_documents({}) == 1
    # The unique index guards the pair even against a differently-made id.
    with pytest.raises(DuplicateKeyError):
        await db["webhook_deliveries"].insert_one(
            {"_id": "dl_other", "endpoint_id": endpoint["_id"], "event_id": "evt_1"})


async def test_attempts_are_claimed_and_recorded_once_each(db):
    deliveries = DeliveriesStore(db)
    created = await deliveries.create_once(endpoint=an_endpoint(), event_id="evt_2", event_type="message.sent",
                                           payload={})
    until = utc_now() + timedelta(seconds=30)
    claims = await asyncio.gather(*(deliveries.claim(created["_id"], cycle=1, done=0, until=until) for _ in range(5)))
    assert sum(claims) == 1  # concurrent duplicates: one attempt
    attempt = {**ATTEMPT, "at": utc_now()}
    assert await deliveries.record(created["_id"], cycle=1, done=0, attempt=attempt, changes={"next_attempt_at": until})
    assert not await deliveries.record(created["_id"], cycle=1, done=0, attempt=attempt, changes={})
    assert await deliveries.claim(created["_id"], cycle=1, done=1, until=until)
    assert await deliveries.record(created["_id"], cycle=1, done=1, attempt={**attempt, "status_code": 200},
                                   changes={"status": SUCCEEDED})
    await deliveries.give_up(created["_id"], "exhausted")  # too late: it succeeded
    stored = await deliveries.get(created["_id"])
    assert stored["status"] == SUCCEEDED and [a["status_code"] for a in stored["attempts"]] == [500, 200]
    view = delivery_view(stored)
    assert view["attempt_count"] == 2 and view["last_attempt"]["status_code"] == 200 and view["next_attempt_at"] is None

    restarted = await deliveries.start_cycle(stored["endpoint_id"], stored["_id"])
    assert restarted["cycle"] == 2 and restarted["status"] == PENDING and len(restarted["attempts"]) == 2
    assert not await deliveries.claim(created["_id"], cycle=1, done=2, until=until)  # the old cycle is over
    await deliveries.give_up(created["_id"], "endpoint_disabled")
    assert (await deliveries.get(created["_id"]))["status"] == FAILED


async def test_endpoints_are_scoped_to_their_tenant(db):
    endpoints = EndpointsStore(db)
    await endpoints.ensure_indexes()
    on, off = an_endpoint(), an_endpoint(enabled=False)
    await endpoints.add(on)
    await endpoints.add(off)
    assert await endpoints.get_for_tenant("u_2", on["_id"]) is None
    assert (await endpoints.get_for_tenant("u_1", on["_id"]))["url"] == "https://example.com"
    assert [e["_id"] for e in await endpoints.list_for_tenant("u_1")] == [on["_id"], off["_id"]]
    assert [e["_id"] for e in await endpoints.enabled_for_tenant("u_1")] == [on["_id"]]
    assert await endpoints.update("u_2", on["_id"], {"description": "x"}) is None
    assert not await endpoints.delete("u_2", on["_id"]) and await endpoints.delete("u_1", on["_id"])
    assert "secret" not in endpoint_view(off) and "previous_secrets" not in endpoint_view(off)


async def test_a_rotation_keeps_the_old_secret_signing_until_its_overlap_ends(db):
    endpoints = EndpointsStore(db)
    doc = an_endpoint()
    await endpoints.add(doc)
    later = utc_now() + timedelta(hours=1)
    rotated = await endpoints.rotate_secret(doc, "whsec_new", later)
    assert signing_secrets(rotated, utc_now()) == ["whsec_new", "whsec_current"]
    assert signing_secrets(rotated, later + timedelta(seconds=1)) == ["whsec_new"]
    assert endpoint_view(rotated)["previous_secret_expires_at"] == later
    assert await endpoints.rotate_secret(doc, "whsec_lost", later) is None  # a stale read loses the race


async def test_failure_streaks_and_disabling_are_guarded(db):
    endpoints = EndpointsStore(db)
    doc = an_endpoint()
    await endpoints.add(doc)
    start = utc_now()
    assert (await endpoints.note_failure(doc["_id"], start, "HTTP 500"))["failing_since"] == start
    later = await endpoints.note_failure(doc["_id"], start + timedelta(seconds=5), "HTTP 502")
    assert later["failing_since"] == start and later["last_error"] == "HTTP 502"  # the streak keeps its start
    event = {"id": "e1", "type": "webhook.endpoint_disabled", "data": {}, "subject": None, "correlation_id": "c",
             "at": utc_now()}
    assert await endpoints.disable(doc["_id"], reason="failing", message="m", event=event,
                                   failing_before=start - timedelta(seconds=1)) is None  # not failing long enough
    disabled = await endpoints.disable(doc["_id"], reason="failing", message="m", event=event, failing_before=start)
    assert disabled["enabled"] is False and disabled["outbox"] == [event]
    assert await endpoints.disable(doc["_id"], reason="failing", message="m", event=event) is None  # only once
    enabled = await endpoints.enable("u_1", doc["_id"], {**event, "id": "e2"})
    assert enabled["enabled"] and enabled["failing_since"] is None and enabled["disabled_reason"] is None
    await endpoints.note_failure(doc["_id"], utc_now(), "HTTP 500")
    await endpoints.note_success(doc)
    assert (await endpoints.get(doc["_id"]))["failing_since"] is None


async def test_deliveries_of_the_earlier_version_are_upgraded_once(db):
    deliveries, now = DeliveriesStore(db), utc_now()
    await db["webhook_deliveries"].insert_one({
        "_id": "dl_old", "tenant_id": "u_1", "endpoint_id": "wh_1", "event_id": "evt_old", "event_type": "message.sent",
        "payload": {}, "status": PENDING, "attempts": [{**ATTEMPT, "at": now}], "created_at": now, "updated_at": now})
    assert await deliveries.upgrade_earlier_deliveries() == 1
    assert await deliveries.upgrade_earlier_deliveries() == 0
    upgraded = await deliveries.get("dl_old")
    assert upgraded["cycle"] == 1 and upgraded["cycle_attempts"] == 1
    assert await deliveries.claim("dl_old", cycle=1, done=1, until=now + timedelta(seconds=30))
    listed, _ = await deliveries.list_for_endpoint("wh_1")
    assert [d["_id"] for d in listed] == ["dl_old"]
