"""The matching endpoints cache against the local MongoDB-compatible server and Redis: every write is
seen by the next match read, in this replica and in another; a read at an unchanged version costs
no MongoDB find; with Redis down every read goes to MongoDB and nothing fails."""

import uuid

import pytest
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient, monitoring

from harness.infra import MONGO_URI, redis_database
from harness.processes import free_port
from wagw_common.storage import utc_now
from wagw_common.testing import MemoryRedis
from wagw_webhook_dispatcher.endpoint_cache import RETRY_AFTER_SECONDS, MatchingEndpointsCache, version_key
from wagw_webhook_dispatcher.endpoints_store import EndpointsStore, new_endpoint

pytestmark = pytest.mark.integration


class FindCounter(monitoring.CommandListener):
    def __init__(self):
        self.finds = 0

    def started(self, event):
        if event.command_name == "find" and event.command.get("find") == "webhook_endpoints":
            self.finds += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
def tenant():
    return f"u_cache_{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def redis(tenant):
    with redis_database() as url:
        client = aioredis.from_url(url, decode_responses=True)
        yield client
        await client.delete(version_key(tenant))
        await client.aclose()


@pytest.fixture
async def mongo():
    """(db, finds): a private database, through a client that counts endpoint finds."""
    finds = FindCounter()
    client = AsyncMongoClient(MONGO_URI, tz_aware=True, event_listeners=[finds])
    name = f"wagw_test_dispatcher_{uuid.uuid4().hex[:8]}"
    yield client[name], finds
    await client.drop_database(name)
    await client.close()


def an_endpoint(tenant_id, **fields):
    values = {"url": "https://example.com/h", "events": ["message.*"], "session_id": None, **fields}
    return new_endpoint(tenant_id=tenant_id, description="", headers={}, secret="whsec_x", **values)


def an_event(type_="webhook.endpoint_disabled"):
    return {"id": uuid.uuid4().hex, "type": type_, "data": {}, "subject": None, "correlation_id": "c", "at": utc_now()}


async def matched(store, tenant):
    return {e["_id"]: (e["events"], e["session_id"]) for e in await store.enabled_for_tenant(tenant)}


async def test_every_write_is_seen_at_once_by_this_replica_and_another(mongo, redis, tenant):
    db, _ = mongo
    one, other = EndpointsStore(db, redis), EndpointsStore(db, redis)  # two replicas: own caches, shared servers
    assert await matched(one, tenant) == {} and await matched(other, tenant) == {}

    doc = an_endpoint(tenant)
    await one.add(doc)
    assert await matched(other, tenant) == {doc["_id"]: (["message.*"], None)}
    await one.update(tenant, doc["_id"], {"events": ["session.*"], "session_id": "s_1"})
    assert await matched(other, tenant) == {doc["_id"]: (["session.*"], "s_1")}
    await other.disable(doc["_id"], tenant_id=tenant, reason="customer", message="m", event=an_event())
    assert await matched(one, tenant) == {}
    await one.enable(tenant, doc["_id"], an_event("webhook.endpoint_enabled"))
    assert doc["_id"] in await matched(other, tenant)
    # The automatic disable knows only the endpoint's id.
    failing = await one.note_failure(doc["_id"], utc_now(), "HTTP 500")
    await one.disable(doc["_id"], reason="failing", message="m", event=an_event(),
                      failing_before=failing["failing_since"])
    assert await matched(other, tenant) == {}
    await other.enable(tenant, doc["_id"], an_event("webhook.endpoint_enabled"))
    assert doc["_id"] in await matched(one, tenant)
    assert await one.delete(tenant, doc["_id"])
    assert await matched(other, tenant) == {} and await matched(one, tenant) == {}


async def test_a_read_at_an_unchanged_version_does_not_query_mongodb(mongo, redis, tenant):
    db, counter = mongo
    store = EndpointsStore(db, redis)
    doc = an_endpoint(tenant)
    await store.add(doc)
    await store.enabled_for_tenant(tenant)
    before = counter.finds
    for _ in range(5):
        assert list(await matched(store, tenant)) == [doc["_id"]]
    assert counter.finds == before

    # A streak's start and end bump (an attempt reads `failing_since`); the failures that continue a
    # streak, and a success with none running, do not.
    version = await redis.get(version_key(tenant))
    await store.note_success(doc)
    assert await redis.get(version_key(tenant)) == version
    await store.note_failure(doc["_id"], utc_now(), "HTTP 500")
    started = await redis.get(version_key(tenant))
    await store.note_failure(doc["_id"], utc_now(), "HTTP 502")
    assert started != version and await redis.get(version_key(tenant)) == started
    await store.note_success(doc)
    assert await redis.get(version_key(tenant)) != started
    await store.enabled_for_tenant(tenant)  # read again at the version the streak's end left
    before = counter.finds

    # Behind the store's back, without a bump: the cached copy stands (no find)...
    await db["webhook_endpoints"].update_one({"_id": doc["_id"]}, {"$set": {"enabled": False}})
    assert list(await matched(store, tenant)) == [doc["_id"]] and counter.finds == before
    # ...until the version moves.
    await redis.incr(version_key(tenant))
    assert await matched(store, tenant) == {} and counter.finds == before + 1


async def test_an_attempt_takes_its_endpoint_from_the_current_copy_and_sees_every_change(mongo, redis, tenant):
    db, counter = mongo
    store = EndpointsStore(db, redis)
    doc = an_endpoint(tenant)
    await store.add(doc)
    assert (await store.current(tenant, doc["_id"]))["secret"] == doc["secret"]  # fills the copy
    before = counter.finds
    assert (await store.current(tenant, doc["_id"]))["url"] == doc["url"] and counter.finds == before
    await store.update(tenant, doc["_id"], {"url": "https://example.com/moved"})
    assert (await store.current(tenant, doc["_id"]))["url"] == "https://example.com/moved"
    await store.disable(doc["_id"], reason="customer", message="m", event=an_event())
    assert (await store.current(tenant, doc["_id"]))["enabled"] is False  # by id: a test may still go
    await store.delete(tenant, doc["_id"])
    assert await store.current(tenant, doc["_id"]) is None


async def test_a_write_racing_a_fill_is_seen_by_the_next_read(redis, tenant):
    cache = MatchingEndpointsCache(redis)
    stored = [[{"_id": "wh_old"}]]

    async def load_while_a_write_lands():
        read = stored[0]
        stored[0] = [{"_id": "wh_new"}]  # another replica writes MongoDB and bumps, after this find
        await cache.changed(tenant)
        return read

    assert await cache.read(tenant, load_while_a_write_lands) == [{"_id": "wh_old"}]

    async def load():
        return stored[0]

    assert await cache.read(tenant, load) == [{"_id": "wh_new"}]


async def test_copies_are_bounded_in_number_and_age(redis, tenant):
    now = [0.0]
    cache = MatchingEndpointsCache(redis, capacity=2, max_age=60, clock=lambda: now[0])
    loads: list[str] = []

    def loader(name):
        async def load():
            loads.append(name)
            return []
        return load

    for name in (tenant, tenant + "_b", tenant, tenant + "_c"):  # _b is the least recently used at _c
        await cache.read(name, loader(name))
    await cache.read(tenant, loader(tenant))
    await cache.read(tenant + "_b", loader(tenant + "_b"))
    assert loads == [tenant, tenant + "_b", tenant + "_c", tenant + "_b"]
    now[0] = 61
    await cache.read(tenant + "_b", loader(tenant + "_b"))
    assert loads[-1] == tenant + "_b" and len(loads) == 5


async def test_with_redis_down_every_read_goes_to_mongodb_and_nothing_fails(mongo, tenant):
    db, counter = mongo
    # Configured as the service's client (wagw_common.storage.connect_redis), on a port nobody listens to.
    down = aioredis.from_url(f"redis://127.0.0.1:{free_port()}", decode_responses=True, socket_connect_timeout=1)
    store = EndpointsStore(db, down)
    doc = an_endpoint(tenant)
    await store.add(doc)  # the bump fails: logged, not raised
    before = counter.finds
    assert list(await matched(store, tenant)) == [doc["_id"]]
    assert list(await matched(store, tenant)) == [doc["_id"]]
    assert counter.finds == before + 2
    await store.disable(doc["_id"], tenant_id=tenant, reason="customer", message="m", event=an_event())
    assert await matched(store, tenant) == {}
    await down.aclose()


class CountingRedis(MemoryRedis):
    """The shared in-memory Redis (down while `broken`), counting the version reads."""

    def __init__(self):
        super().__init__()
        self.gets = 0

    async def get(self, key):
        self.gets += 1
        return await super().get(key)


async def test_after_a_redis_failure_reads_leave_redis_alone_for_a_while(tenant):
    now = [0.0]
    redis, loads = CountingRedis(), []
    redis.broken = True

    async def load():
        loads.append(1)
        return []

    cache = MatchingEndpointsCache(redis, clock=lambda: now[0])
    for _ in range(3):
        await cache.read(tenant, load)
    assert redis.gets == 1 and len(loads) == 3
    now[0] = RETRY_AFTER_SECONDS
    await cache.read(tenant, load)
    assert redis.gets == 2 and len(loads) == 4


async def test_without_redis_the_store_does_not_cache(mongo, tenant):
    db, counter = mongo
    store = EndpointsStore(db)
    await store.add(an_endpoint(tenant))
    before = counter.finds
    await store.enabled_for_tenant(tenant)
    await store.enabled_for_tenant(tenant)
    assert store.cache is None and counter.finds == before + 2


async def test_a_fill_overlapping_a_redis_failure_is_not_kept(tenant):
    now = [0.0]
    redis, loads = CountingRedis(), []
    cache = MatchingEndpointsCache(redis, clock=lambda: now[0])

    async def load_while_redis_fails():
        loads.append(1)
        redis.broken = True  # a bump made meanwhile may be lost
        await cache.read(tenant + "_other", load)
        redis.broken = False
        return []

    async def load():
        loads.append(1)
        return []

    await cache.read(tenant, load_while_redis_fails)
    now[0] = RETRY_AFTER_SECONDS
    await cache.read(tenant, load)
    assert len(loads) == 3  # read again: what the overlapping fill read was not kept
    await cache.read(tenant, load)
    assert len(loads) == 3
