"""MongoDB through PyMongo's asyncio client and Redis through redis-py's asyncio client.

Motor is deprecated in favour of `pymongo.AsyncMongoClient`, from the same team; only features that
both MongoDB and the local MongoDB-compatible server support are used (see the README)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError
from redis.exceptions import RedisError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from .logging import get_logger

log = get_logger(__name__)


def utc_now() -> datetime:
    """Now, in UTC, at the millisecond precision MongoDB stores, so a value written and read back is equal."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def mongo_client(uri: str) -> AsyncMongoClient[Any]:
    """A client that connects on first use (no I/O here), so a service's dependencies can be built,
    frozen, before its connections are open."""
    # tz_aware: datetimes come back as aware UTC values, as the contracts require.
    return AsyncMongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=3000, connectTimeoutMS=3000)


async def wait_for_mongo(client: AsyncMongoClient[Any], *, startup_timeout: float) -> None:
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(startup_timeout), wait=wait_exponential(multiplier=0.2, max=3),
        retry=retry_if_exception_type(PyMongoError), reraise=True,
    ):
        with attempt:
            if attempt.retry_state.attempt_number > 1:
                log.info("mongo.connect_retry", attempt=attempt.retry_state.attempt_number)
            await client.admin.command("ping")


async def connect_mongo(uri: str, database: str, *,
                        startup_timeout: float) -> tuple[AsyncMongoClient[Any], AsyncDatabase[Any]]:
    client = mongo_client(uri)
    await wait_for_mongo(client, startup_timeout=startup_timeout)
    return client, client[database]


def redis_client(url: str) -> aioredis.Redis:
    """A client whose pool connects on first use (no I/O here)."""
    return aioredis.from_url(url, decode_responses=True, socket_connect_timeout=3, socket_timeout=5,
                             health_check_interval=10)


async def wait_for_redis(client: aioredis.Redis, *, startup_timeout: float) -> None:
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(startup_timeout), wait=wait_exponential(multiplier=0.2, max=3),
        retry=retry_if_exception_type((RedisError, OSError)), reraise=True,
    ):
        with attempt:
            await client.ping()


class MongoInbox:
    """Handled envelope ids, in the service's own database (Redis is never the only copy)."""

    def __init__(self, db: AsyncDatabase[Any]):
        self.collection = db["inbox"]

    async def seen(self, envelope_id: str) -> bool:
        return await self.collection.find_one({"_id": envelope_id}, {"_id": 1}) is not None

    async def remember(self, envelope_id: str, message_type: str) -> None:
        try:
            await self.collection.insert_one({"_id": envelope_id, "type": message_type, "at": utc_now()})
        except DuplicateKeyError:
            pass

    async def forget_before(self, cutoff: datetime) -> int:
        # TTL indexes are not available on every supported server, so expiry is a periodic delete.
        result = await self.collection.delete_many({"at": {"$lt": cutoff}})
        return result.deleted_count
