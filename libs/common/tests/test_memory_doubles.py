"""The in-memory stand-ins for MongoDB and Redis, and the broker while it is away: they answer as the
real clients do for what the services use of them (pipelines, hashes, unique indexes, a refused publish)."""

import pytest
from pymongo.errors import DuplicateKeyError
from redis.exceptions import RedisError

from wagw_common import topology
from wagw_common.testing import InMemoryBroker, MemoryDatabase, MemoryRedis

pytestmark = pytest.mark.unit


async def test_a_pipeline_answers_its_commands_in_order_and_fails_with_redis():
    redis = MemoryRedis()
    await redis.set("a", 1)
    redis.hashes["h"] = {"status": "CONNECTED"}
    pipe = redis.pipeline(transaction=False)
    pipe.get("a")
    pipe.hget("h", "status")
    pipe.hget("missing", "status")
    assert await pipe.execute() == ["1", "CONNECTED", None]
    redis.broken = True
    pipe.get("a")
    with pytest.raises(RedisError):
        await pipe.execute()


async def test_a_collection_keeps_unique_fields_unique_and_a_database_hands_out_the_same_one():
    db = MemoryDatabase()
    await db["users"].create_index("email", unique=True)
    await db["users"].insert_one({"_id": "u_1", "email": "a@example.com"})
    with pytest.raises(DuplicateKeyError):
        await db["users"].insert_one({"_id": "u_2", "email": "a@example.com"})
    assert await db["users"].count_documents({}) == 1 and await db["other"].count_documents({}) == 0


async def test_a_broker_that_is_away_refuses_every_publish():
    broker = InMemoryBroker(source="test")
    broker.is_connected = False
    with pytest.raises(ConnectionError):
        await broker.publish_event("user.logins_ended", {"user_id": "u_1", "reason": "deactivated"})
    assert broker.published == []
    broker.is_connected = True
    await broker.publish_event("user.logins_ended", {"user_id": "u_1", "reason": "deactivated"})
    assert [e.type for e in broker.sent(topology.EVENTS)] == ["user.logins_ended"]
