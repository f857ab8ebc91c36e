"""Every MongoDB operation the services rely on, against the local MongoDB-compatible server.

The services must run unchanged on MongoDB (compose, Kubernetes) and on the local server, so they
keep to what both support; this test is the list, checked. Add to it before using anything new."""

import asyncio
import uuid
from datetime import timedelta

import pytest
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from harness.infra import MONGO_URI
from wagw_common.storage import connect_mongo, utc_now

pytestmark = pytest.mark.integration


@pytest.fixture
async def db():
    name = f"wagw_features_{uuid.uuid4().hex[:8]}"
    client, database = await connect_mongo(MONGO_URI, name, startup_timeout=10)
    yield database
    await client.drop_database(name)
    await client.close()


async def test_unique_and_compound_indexes(db):
    await db.users.create_index("email", unique=True)
    await db.deliveries.create_index([("endpoint_id", ASCENDING), ("event_id", ASCENDING)], unique=True)
    await db.users.insert_one({"_id": "u_1", "email": "a@example.com"})
    with pytest.raises(DuplicateKeyError):
        await db.users.insert_one({"_id": "u_2", "email": "a@example.com"})
    await db.deliveries.insert_one({"endpoint_id": "wh_1", "event_id": "e1"})
    with pytest.raises(DuplicateKeyError):
        await db.deliveries.insert_one({"endpoint_id": "wh_1", "event_id": "e1"})


async def test_conditional_counter_is_atomic_under_concurrency(db):
    """The per-tenant limit: only `limit` of many concurrent increments may win."""
    await db.counters.insert_one({"_id": "tenant", "count": 0})

    async def try_take():
        return await db.counters.find_one_and_update({"_id": "tenant", "count": {"$lt": 5}}, {"$inc": {"count": 1}},
                                                     return_document=ReturnDocument.AFTER)

    results = await asyncio.gather(*(try_take() for _ in range(20)))
    assert sum(r is not None for r in results) == 5
    assert (await db.counters.find_one({"_id": "tenant"}))["count"] == 5


async def test_upsert_with_set_on_insert(db):
    for _ in range(2):
        doc = await db.workers.find_one_and_update(
            {"_id": "w-1"}, {"$set": {"state": "online"}, "$setOnInsert": {"registered_at": utc_now()}},
            upsert=True, return_document=ReturnDocument.AFTER)
    assert doc["state"] == "online" and doc["registered_at"].tzinfo is not None


async def test_outbox_push_each_then_pull_all(db):
    now = utc_now().replace(microsecond=0)
    entries = [{"id": "e1", "at": now - timedelta(minutes=1)}, {"id": "e2", "at": now}]
    await db.sessions.insert_one({"_id": "s_1", "status": "DISCONNECTED", "outbox": []})
    await db.sessions.update_one({"_id": "s_1", "status": "DISCONNECTED"},
                                 {"$set": {"status": "CONNECTING"}, "$inc": {"sequence": 1}, "$push": {"outbox": {"$each": entries}}})
    stale = await db.sessions.find({"outbox.at": {"$lt": now - timedelta(seconds=10)}}).to_list(None)
    assert [d["_id"] for d in stale] == ["s_1"]
    stored = (await db.sessions.find_one({"_id": "s_1"}))["outbox"]
    await db.sessions.update_one({"_id": "s_1"}, {"$pullAll": {"outbox": stored}})
    doc = await db.sessions.find_one({"_id": "s_1"})
    assert doc["outbox"] == [] and doc["status"] == "CONNECTING" and doc["sequence"] == 1


async def test_guarded_update_wins_once_under_concurrency(db):
    await db.messages.insert_one({"_id": "m_1", "status": "queued", "timeline": []})
    guard = {"_id": "m_1", "status": {"$in": ["queued"]}}
    change = {"$set": {"status": "sent"}, "$push": {"timeline": {"status": "sent"}}}
    results = await asyncio.gather(*(db.messages.update_one(guard, change) for _ in range(20)))
    assert sum(r.modified_count for r in results) == 1
    assert len((await db.messages.find_one({"_id": "m_1"}))["timeline"]) == 1


async def test_increments_are_never_lost(db):
    await db.counters.insert_one({"_id": "c", "n": 0})
    await asyncio.gather(*(db.counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}) for _ in range(50)))
    assert (await db.counters.find_one({"_id": "c"}))["n"] == 50


async def test_sorted_pagination_projection_and_counts(db):
    now = utc_now()
    await db.messages.insert_many([{"_id": f"m_{i}", "session_id": "s_1", "created_at": now + timedelta(seconds=i),
                                    "status": "sent" if i % 2 else "read"} for i in range(7)])
    page = await db.messages.find({"session_id": "s_1", "created_at": {"$lt": now + timedelta(seconds=5)}},
                                  {"status": 1, "created_at": 1}).sort([("created_at", DESCENDING), ("_id", DESCENDING)]
                                                                       ).skip(1).limit(2).to_list(None)
    assert [m["_id"] for m in page] == ["m_3", "m_2"]
    assert await db.messages.count_documents({"session_id": "s_1", "status": "sent"}) == 3
    grouped = await (await db.messages.aggregate([{"$match": {"session_id": "s_1"}},
                                                  {"$group": {"_id": "$status", "n": {"$sum": 1}}},
                                                  {"$sort": {"_id": 1}}])).to_list(None)
    assert grouped == [{"_id": "read", "n": 4}, {"_id": "sent", "n": 3}]


async def test_periodic_expiry_by_delete(db):
    now = utc_now()
    await db.inbox.insert_many([{"_id": "old", "at": now - timedelta(days=8)}, {"_id": "new", "at": now}])
    result = await db.inbox.delete_many({"at": {"$lt": now - timedelta(days=7)}})
    assert result.deleted_count == 1
