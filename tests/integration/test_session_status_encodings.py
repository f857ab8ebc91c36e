"""A `SessionStatus` leaves every process as its plain string: the services write the enum where
they wrote a string before, so what MongoDB stores, what Redis caches and what JSON carries must be
byte for byte what it was (a reader that compares with "CONNECTED" must still find it)."""

import json
import uuid

import pytest
import redis.asyncio as aioredis

from harness.infra import redis_database
from wagw_common import session_status
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import Envelope
from wagw_common.fast_runtime import dumps, loads

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis():
    with redis_database() as url:
        client = aioredis.from_url(url)
        yield client
        await client.aclose()


async def test_mongodb_stores_the_plain_string_and_finds_it_by_either(db):
    await db.sessions.insert_many([{"_id": status.value, "status": status} for status in SessionStatus])
    for status in SessionStatus:
        stored = await db.sessions.find_one({"_id": status.value})
        assert type(stored["status"]) is str and stored["status"] == status.value
        # Read by a string filter (older code, other tools) and by the enum (the services now).
        assert await db.sessions.count_documents({"status": status.value}) == 1
        assert await db.sessions.count_documents({"status": status}) == 1
    live = [SessionStatus.CONNECTED, SessionStatus.RECONNECTING]
    assert {d["_id"] async for d in db.sessions.find({"status": {"$in": live}})} == {"CONNECTED", "RECONNECTING"}
    assert await db.sessions.count_documents({"status": {"$ne": SessionStatus.DELETED}}) == len(SessionStatus) - 1


async def test_redis_caches_the_plain_string(redis):
    session_id = f"s_{uuid.uuid4().hex[:12]}"
    try:
        await session_status.record(redis, session_id, SessionStatus.QR_REQUIRED, 1)
        assert await redis.hget(session_status.status_key(session_id), "status") == b"QR_REQUIRED"
        assert await session_status.read(redis, session_id) == "QR_REQUIRED"
    finally:
        await redis.delete(session_status.status_key(session_id))


def test_json_carries_the_plain_string_as_value_and_as_key():
    document = {"status": SessionStatus.CONNECTED, "by_status": {SessionStatus.ERROR: 1}}
    expected = b'{"status":"CONNECTED","by_status":{"ERROR":1}}'
    assert dumps(document) == expected
    assert json.dumps(document, separators=(",", ":")).encode() == expected  # aiohttp's json_response
    envelope = Envelope(type="session.status_changed", source="session-orchestrator",
                        data={"status": SessionStatus.LOGGED_OUT})
    assert loads(envelope.to_json())["data"]["status"] == "LOGGED_OUT"
