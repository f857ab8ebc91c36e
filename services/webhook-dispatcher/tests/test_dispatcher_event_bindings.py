"""The events queue is bound to what enabled endpoints want, over all tenants: bound before a write
that wants more is answered, unbound by reconciliations, never unbound under a write racing it. The
real endpoints store (the local MongoDB-compatible server), the in-memory broker's routing, and an
in-memory Redis lock."""

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient

from harness.infra import MONGO_URI
from wagw_common.envelope import Envelope
from wagw_common.testing import InMemoryBroker, MemoryRedis, SlowBindingBroker
from wagw_common.testing.broker import DeliveredMessage
from wagw_common.topology import EVENTS
from wagw_webhook_dispatcher.endpoints_store import EndpointsStore, new_endpoint
from wagw_webhook_dispatcher.event_bindings import EventBindings
from wagw_webhook_dispatcher.fanout import DELIVERABLE_EVENTS
from wagw_webhook_dispatcher.router import events as events_queue

pytestmark = pytest.mark.integration
MESSAGE_EVENTS = {t for t in DELIVERABLE_EVENTS if t.startswith("message.")}


@pytest.fixture
async def world():
    client = AsyncMongoClient(MONGO_URI, tz_aware=True)
    name = f"wagw_test_bindings_{uuid.uuid4().hex[:8]}"
    store, broker, redis = EndpointsStore(client[name]), SlowBindingBroker(source="test"), MemoryRedis()
    bindings = EventBindings(broker, redis, store.collection, events_queue.declared(), events_queue.bindings())
    yield {"store": store, "broker": broker, "redis": redis, "bindings": bindings}
    await client.drop_database(name)
    await client.close()


def bound(broker: InMemoryBroker) -> set[str]:
    return {key for exchange, key, queue in broker.bindings if exchange == EVENTS and queue == events_queue.spec.name}


def reaches_queue(broker: InMemoryBroker, event_type: str) -> bool:
    envelope = Envelope(type=event_type, source="test", data={})
    message = DeliveredMessage(envelope.to_json(), event_type, envelope.id, None, None, None, {}, None)  # type: ignore[arg-type]
    return broker.route(EVENTS, event_type, message)


async def create(world, events, *, tenant="u_1", enabled=True):
    doc = new_endpoint(tenant_id=tenant, url="https://example.com/h", events=events, session_id=None,
                       description="", headers={}, secret="whsec_x")
    doc["enabled"] = enabled
    async with world["bindings"].wanting(events):
        await world["store"].add(doc)
    return doc


async def test_an_endpoint_of_one_type_binds_that_type_only(world):
    await create(world, ["message.sent"])
    assert bound(world["broker"]) == {"message.sent"}
    assert reaches_queue(world["broker"], "message.sent")
    assert not reaches_queue(world["broker"], "message.delivered")


async def test_wildcards_bind_their_family_or_everything(world):
    await create(world, ["message.*"])
    assert bound(world["broker"]) == MESSAGE_EVENTS
    await create(world, ["*"], tenant="u_2")
    assert bound(world["broker"]) == set(DELIVERABLE_EVENTS)


async def test_a_reconciliation_unbinds_what_no_enabled_endpoint_of_any_tenant_wants(world):
    broker = world["broker"]
    await broker.set_bindings(events_queue.declared(), bind=events_queue.bindings())  # an earlier version's
    first = await create(world, ["message.sent", "message.read"])
    await create(world, ["message.read"], tenant="u_2")
    await create(world, ["session.status_changed"], tenant="u_3", enabled=False)
    assert await world["bindings"].reconcile()
    assert bound(broker) == {"message.sent", "message.read"}
    await world["store"].disable(first["_id"], reason="customer", message="", event={"at": 0})
    assert await world["bindings"].reconcile()
    assert bound(broker) == {"message.read"}


async def test_a_write_racing_reconciliations_always_finds_its_types_bound(world):
    """Endpoints are created and others deleted while reconciliations run, in every interleaving the
    random pauses make: once a creation returns, its types stay bound."""
    types = sorted(DELIVERABLE_EVENTS)
    created: list[dict] = []

    async def create_one(i):
        created.append(await create(world, [types[i % len(types)]], tenant=f"u_{i}"))

    async def delete_one(doc):
        await world["store"].delete(doc["tenant_id"], doc["_id"])
        await world["bindings"].reconcile()

    doomed = [await create(world, [t], tenant="doomed") for t in types]
    await asyncio.gather(*(create_one(i) for i in range(12)), *(delete_one(d) for d in doomed),
                         *(world["bindings"].reconcile() for _ in range(6)))
    assert {doc["events"][0] for doc in created} <= bound(world["broker"])


async def test_a_lock_that_expired_during_the_write_binds_again_after_it(world, monkeypatch):
    """A stalled write may have let a reconciliation unbind its type meanwhile: bound again after it."""
    locks = []
    real_lock = world["redis"].lock
    monkeypatch.setattr(world["redis"], "lock", lambda *a, **k: locks.append(real_lock(*a, **k)) or locks[-1])
    doc = new_endpoint(tenant_id="u_1", url="https://example.com/h", events=["message.sent"], session_id=None,
                       description="", headers={}, secret="whsec_x")
    async with world["bindings"].wanting(["message.sent"]):
        locks[0].expire()
        assert await world["bindings"].reconcile()  # reads before the write: unbinds message.sent
        assert bound(world["broker"]) == set()
        await world["store"].add(doc)
    assert bound(world["broker"]) == {"message.sent"}


async def test_without_redis_a_write_still_binds_and_nothing_is_unbound(world):
    await create(world, ["message.sent"])
    world["redis"].broken = True
    await create(world, ["message.read"], tenant="u_2")
    await world["store"].collection.delete_many({})
    assert not await world["bindings"].reconcile()
    assert bound(world["broker"]) == {"message.sent", "message.read"}


async def test_a_reconciliation_after_a_change_that_fails_is_left_for_later_and_the_change_stands(world):
    """A delete or disable is made whatever the broker says: its unbinding waits for the next tick."""
    await create(world, ["message.sent"])
    await world["store"].collection.delete_many({})

    async def refused(queue, bind=(), unbind=()):
        raise ConnectionError("broker unreachable")

    world["broker"].set_bindings = refused
    await world["bindings"].tidy()
    assert bound(world["broker"]) == {"message.sent"}
    with pytest.raises(ConnectionError):
        await world["bindings"].reconcile()  # at start-up, a failure stops the start
