"""Every MongoDB operation the services rely on, against the local MongoDB-compatible server.

The services must run unchanged on MongoDB (compose, Kubernetes) and on the local server, so they
keep to what both support; this test is the list, checked. Add to it before using anything new."""

import asyncio
from datetime import timedelta

import pytest
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from wagw_common.storage import utc_now

pytestmark = pytest.mark.integration


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
                                 {"$set": {"status": "CONNECTING"}, "$inc": {"sequence": 1},
                                  "$push": {"outbox": {"$each": entries}}})
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


async def test_missing_fields_match_ne_and_none_and_and_combines_ranges(db):
    """Held messages: `routed_to` missing, null, or another worker; a cursor and a time range together."""
    now = utc_now()
    await db.messages.insert_many([
        {"_id": "m_missing", "at": now - timedelta(seconds=3)}, {"_id": "m_null", "routed_to": None, "at": now},
        {"_id": "m_w1", "routed_to": "w-1", "at": now}, {"_id": "m_w2", "routed_to": "w-2", "at": now}])
    not_w2 = await db.messages.find({"routed_to": {"$ne": "w-2"}}).sort("_id", ASCENDING).to_list(None)
    assert [m["_id"] for m in not_w2] == ["m_missing", "m_null", "m_w1"]
    unrouted = await db.messages.find({"routed_to": None}).sort("_id", ASCENDING).to_list(None)
    assert [m["_id"] for m in unrouted] == ["m_missing", "m_null"]
    assert await db.messages.count_documents({"routed_to": None}) == 2
    both = {"$and": [{"$or": [{"_id": {"$lt": "m_w2"}}]}, {"at": {"$gte": now - timedelta(seconds=1),
                                                                  "$lt": now + timedelta(seconds=1)}}]}
    assert [m["_id"] for m in await db.messages.find(both).sort("_id", ASCENDING).to_list(None)] == ["m_null", "m_w1"]


async def test_webhook_dispatcher_guards_streaks_and_keyset_pages(db):
    """Attempt claims guarded by several fields, failure streaks (`$ne: None`, `$lte`), a cycle `$inc`
    with `$set`, an index on an array member (`outbox.at`), string keyset pages, `$in` deletes."""
    now = utc_now()
    await db.deliveries.create_index([("outbox.at", ASCENDING)])
    await db.deliveries.create_index([("endpoint_id", ASCENDING), ("sort_key", DESCENDING)])
    await db.deliveries.insert_many([{"_id": f"dl_{i}", "endpoint_id": "wh_1", "sort_key": f"2026{i:02d}-dl_{i}",
                                      "status": "pending", "cycle": 1, "cycle_attempts": 0,
                                      "claimed_until": now - timedelta(days=1), "outbox": []} for i in range(5)])
    claim = ({"_id": "dl_0", "status": "pending", "cycle": 1, "cycle_attempts": 0, "claimed_until": {"$lt": now}},
             {"$set": {"claimed_until": now + timedelta(seconds=30)}})
    claims = await asyncio.gather(*(db.deliveries.update_one(*claim) for _ in range(10)))
    assert sum(r.modified_count for r in claims) == 1
    again = await db.deliveries.find_one_and_update({"_id": "dl_0"}, {"$inc": {"cycle": 1},
                                                                      "$set": {"cycle_attempts": 0}},
                                                    return_document=ReturnDocument.AFTER)
    assert again["cycle"] == 2
    page = await db.deliveries.find({"endpoint_id": "wh_1", "sort_key": {"$lt": "202603-dl_3"}}, {"outbox": 0}
                                    ).sort("sort_key", DESCENDING).limit(2).to_list(None)
    assert [d["_id"] for d in page] == ["dl_2", "dl_1"]
    await db.endpoints.insert_one({"_id": "wh_1", "failing_since": None, "enabled": True})
    assert await db.endpoints.count_documents({"failing_since": {"$ne": None}}) == 0
    await db.endpoints.update_one({"_id": "wh_1", "failing_since": None}, {"$set": {"failing_since": now}})
    assert await db.endpoints.count_documents({"failing_since": {"$lte": now}, "enabled": True}) == 1
    await db.deliveries.update_many({"_id": {"$in": ["dl_3", "dl_4"]}}, {"$set": {"status": "failed"}})
    assert (await db.deliveries.delete_many({"status": {"$in": ["succeeded", "failed"]}})).deleted_count == 2


async def test_worker_registry_newest_wins_with_max_and_its_lookups(db):
    """The registry's heartbeat hot path and recovery queries: `$max` keeps the newest of two
    embedded documents (compared by their first field, a time) whatever the write order, also on an
    upsert and over null; `$max` on dates; `$or` over array members with `$in`; dotted queries into
    embedded documents; newest-first with a limit; delete by `_id` `$in` and an empty array."""
    t0 = utc_now()
    older = {"sent_at": t0, "session_count": 9, "breakdown": {"connected": 9}}
    newer = {"sent_at": t0 + timedelta(seconds=1), "session_count": 3, "breakdown": {"connected": 3}}
    await db.workers.insert_one({"_id": "w-1", "beat": {"sent_at": None, "session_count": 0}, "seen": t0,
                                 "free": 5, "pending": [], "outbox": [], "state": "online"})
    for beat in (newer, older):  # handled out of order
        await db.workers.update_one({"_id": "w-1"}, {"$max": {"beat": beat, "seen": beat["sent_at"]},
                                                     "$inc": {"rev": 1, "free": 0}})
    doc = await db.workers.find_one({"_id": "w-1"})
    assert (doc["beat"], doc["seen"], doc["rev"]) == (newer, newer["sent_at"], 2)
    await db.sessions.update_one({"_id": "w-1"}, {"$max": {"latest": {"sent_at": t0, "sessions": [
        {"session_id": "s_1", "status": "CONNECTED"}]}}}, upsert=True)
    await db.workers.insert_one({"_id": "w-2", "beat": newer, "seen": t0, "state": "removed", "outbox": [],
                                 "pending": [{"session_id": "s_2", "at": t0}]})
    assert [d["_id"] for d in await db.sessions.find({"latest.sessions.session_id": {"$in": ["s_1", "s_9"]}})
            .to_list(None)] == ["w-1"]
    either = {"$or": [{"_id": {"$in": ["w-1"]}}, {"pending.session_id": {"$in": ["s_2"]}}]}
    assert sorted(d["_id"] for d in await db.workers.find(either).to_list(None)) == ["w-1", "w-2"]
    assert await db.workers.count_documents({"beat.session_count": 3}) == 2
    newest = await db.workers.find({}, {"seen": 1}).sort("seen", DESCENDING).limit(1).to_list(None)
    assert newest[0]["_id"] == "w-1"
    gone = await db.workers.delete_many({"state": "removed", "outbox": [], "_id": {"$in": ["w-2", "w-3"]}})
    assert gone.deleted_count == 1 and await db.workers.count_documents({}) == 1


async def test_push_guarded_by_array_size_applies_once(db):
    """The orchestrator keeps an overtaken status step: `$push` guarded by `$size` of the timeline as read
    (dot notation into an array of documents, `timeline.status`, is NOT matched per element here)."""
    await db.messages.insert_one({"_id": "m_1", "status": "read", "timeline": [{"status": "queued"},
                                                                               {"status": "read"}]})
    guard = {"_id": "m_1", "status": "read", "timeline": {"$size": 2}}
    step = {"$push": {"timeline": {"status": "sent"}}}
    results = await asyncio.gather(*(db.messages.find_one_and_update(guard, step, return_document=ReturnDocument.AFTER)
                                     for _ in range(5)))
    assert sum(1 for r in results if r is not None) == 1
    assert [s["status"] for s in (await db.messages.find_one({"_id": "m_1"}))["timeline"]] == ["queued", "read", "sent"]


async def test_filters_naming_an_id_still_apply_every_other_condition(db):
    # The local server's build narrows such a filter to the `_id` first; the rest must still decide.
    await db.items.insert_many([{"_id": "i_1", "status": "queued", "n": 1}, {"_id": "i_2", "status": "sent", "n": 2}])
    assert await db.items.find_one_and_update({"_id": "i_1", "status": "sent"}, {"$set": {"n": 9}}) is None
    assert (await db.items.update_one({"_id": "i_2", "status": {"$in": ["queued"]}},
                                      {"$inc": {"n": 1}})).matched_count == 0
    assert (await db.items.delete_many({"_id": "i_1", "n": {"$gt": 1}})).deleted_count == 0
    assert await db.items.count_documents({"_id": "i_1", "status": "queued", "n": {"$lt": 5}}) == 1
    assert [d["_id"] async for d in db.items.find({"_id": "i_2", "$or": [{"n": 2}, {"n": 3}]})] == ["i_2"]
    moved = await db.items.find_one_and_update({"_id": "i_1", "status": "queued"}, {"$set": {"status": "sent"}},
                                               return_document=ReturnDocument.AFTER)
    assert moved["status"] == "sent" and moved["n"] == 1


async def test_pacing_compare_and_set_on_a_dotted_version_and_max_on_a_dotted_date(db):
    """The orchestrator's send pacing: a compare-and-set on a field inside a subdocument, where a
    missing subdocument matches null; `$set` and `$max` on dotted paths create it; `$max` never moves
    a date back; `$ne: null` and `$lte` on a date select the due ones."""
    t0 = utc_now().replace(microsecond=0)
    await db.sessions.insert_one({"_id": "s_1"})
    first = await db.sessions.update_one({"_id": "s_1", "pacing_state.version": None},
                                         {"$set": {"pacing_state.version": 1, "pacing_state.next_free_at": t0}})
    stale = await db.sessions.update_one({"_id": "s_1", "pacing_state.version": None},
                                         {"$set": {"pacing_state.version": 1}})
    assert (first.modified_count, stale.modified_count) == (1, 0)
    for at in (t0 + timedelta(seconds=5), t0):
        await db.sessions.update_one({"_id": "s_1"}, {"$max": {"pacing_state.last_handed_at": at}})
    state = (await db.sessions.find_one({"_id": "s_1"}))["pacing_state"]
    assert state == {"version": 1, "next_free_at": t0, "last_handed_at": t0 + timedelta(seconds=5)}
    await db.messages.insert_many([{"_id": "m1", "paced_until": t0}, {"_id": "m2", "paced_until": None},
                                   {"_id": "m3"}, {"_id": "m4", "paced_until": t0 + timedelta(hours=1)}])
    due = {"paced_until": {"$ne": None}}
    assert await db.messages.count_documents(due) == 2
    due_now = await db.messages.find({"paced_until": {"$ne": None, "$lte": t0}}).to_list(None)
    assert [d["_id"] for d in due_now] == ["m1"]


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "not-indexed"])
async def test_string_equalities_match_arrays_holding_the_value_and_any_text(db, indexed):
    """The local server's build narrows a filter's equalities on plain strings in SQL (the field's index
    when there is one); MongoDB's equality also matches an array holding the value, and values whose
    JSON text has escapes are left to the server's own filter. Every kind of command must agree."""
    if indexed:
        await db.items.create_index([("status", ASCENDING), ("at", ASCENDING)])
    odd = 'quo"ted <tag> & é \\ ✓'
    await db.items.insert_many([
        {"_id": "plain", "status": "queued", "chat": "628123@s.whatsapp.net", "n": 1},
        {"_id": "array", "status": ["sent", "queued"], "chat": "628123@s.whatsapp.net", "n": 1},
        {"_id": "other", "status": "sent", "chat": "628123@s.whatsapp.net", "n": 1},
        {"_id": "embedded", "status": {"value": "queued"}, "n": 1},
        {"_id": "missing", "n": 1},
        {"_id": "odd", "status": odd, "n": 1}])

    async def ids(query):
        return sorted([d["_id"] async for d in db.items.find(query)])

    assert await ids({"status": "queued"}) == ["array", "plain"]
    assert await ids({"status": "queued", "chat": "628123@s.whatsapp.net"}) == ["array", "plain"]
    assert await ids({"status": "queued", "n": {"$gt": 0}, "chat": "nobody"}) == []
    assert await ids({"status": odd}) == ["odd"]
    assert await ids({"status": "queued", "$or": [{"_id": "array"}, {"_id": "none"}]}) == ["array"]
    assert await db.items.count_documents({"status": "queued"}) == 2
    assert [d["_id"] for d in await db.items.find({"status": "queued"}).sort("_id", DESCENDING).to_list(None)] \
        == ["plain", "array"]
    assert (await db.items.update_many({"status": "queued"}, {"$inc": {"n": 1}})).modified_count == 2
    moved = await db.items.find_one_and_update({"status": "sent", "n": 2}, {"$set": {"seen": True}},
                                               return_document=ReturnDocument.AFTER)
    assert moved["_id"] == "array"
    assert (await db.items.delete_many({"status": odd})).deleted_count == 1
    assert (await db.items.delete_many({"status": "queued"})).deleted_count == 2
    assert await ids({}) == ["embedded", "missing", "other"]


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "not-indexed"])
async def test_ranges_on_a_member_of_an_embedded_value_skip_only_rows_that_cannot_match(db, indexed):
    """The outbox relays' query (`outbox.at` before a moment): the local server's build leaves out rows
    whose `outbox` is missing, null or empty before it decodes any; every other row is still filtered."""
    if indexed:
        await db.items.create_index([("outbox.at", ASCENDING)])
    now = utc_now().replace(microsecond=0)
    old, new = now - timedelta(minutes=1), now + timedelta(minutes=1)
    await db.items.insert_many([
        {"_id": "stale", "outbox": [{"id": "e1", "at": new}, {"id": "e2", "at": old}]},
        {"_id": "fresh", "outbox": [{"id": "e3", "at": new}]},
        {"_id": "embedded", "outbox": {"at": old}},
        {"_id": "empty", "outbox": []}, {"_id": "empty_doc", "outbox": {}}, {"_id": "null", "outbox": None},
        {"_id": "missing"}, {"_id": "scalar", "outbox": 5}])

    async def ids(query):
        return sorted([d["_id"] async for d in db.items.find(query)])

    assert await ids({"outbox.at": {"$lt": now}}) == ["embedded", "stale"]
    assert await ids({"outbox.at": {"$gte": old, "$lte": new}}) == ["embedded", "fresh", "stale"]
    assert await ids({"outbox.at": {"$gt": now}}) == ["fresh", "stale"]
    assert await ids({"outbox.at": None}) == ["empty", "empty_doc", "missing", "null", "scalar"]  # not a range
    assert await ids({"outbox.at": {"$exists": False}}) == ["empty", "empty_doc", "missing", "null", "scalar"]
    assert await db.items.count_documents({"outbox.at": {"$lt": now}}) == 2
    assert [d["_id"] for d in await db.items.find({"outbox.at": {"$lt": now}}, {"outbox": 1}).limit(1).to_list(None)] \
        in (["embedded"], ["stale"])
    assert (await db.items.update_many({"outbox.at": {"$lt": now}}, {"$set": {"seen": True}})).modified_count == 2
    assert (await db.items.delete_many({"outbox.at": {"$gt": now}})).deleted_count == 2
    assert await ids({}) == ["embedded", "empty", "empty_doc", "missing", "null", "scalar"]
