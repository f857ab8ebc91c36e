"""Which worker holds a session: a Redis cache in front of the session's `worker_id` in MongoDB.

MongoDB is the truth; Redis only saves a database read on every send. A lost or missing entry is
rebuilt from MongoDB, and each entry expires, so a failed cache write can only be stale for a while."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from wagw_common.logging import get_logger

from .sessions_store import SessionsStore

log = get_logger(__name__)


def route_key(session_id: str) -> str:
    return f"route:session:{session_id}"


class SessionRoutes:
    def __init__(self, redis: aioredis.Redis, sessions: SessionsStore, *, ttl_seconds: int):
        self.redis = redis
        self.sessions = sessions
        self.ttl_seconds = ttl_seconds

    async def remember(self, session_id: str, worker_id: str) -> None:
        try:
            await self.redis.set(route_key(session_id), worker_id, ex=self.ttl_seconds)
        except RedisError as exc:
            log.warning("route.cache_write_failed", session_id=session_id, error=str(exc))
            await self.forget(session_id)

    async def forget(self, session_id: str) -> None:
        try:
            await self.redis.delete(route_key(session_id))
        except RedisError as exc:
            log.warning("route.cache_delete_failed", session_id=session_id, error=str(exc))

    async def worker_for(self, session_id: str) -> str | None:
        try:
            cached = await self.redis.get(route_key(session_id))
        except RedisError as exc:
            log.warning("route.cache_read_failed", session_id=session_id, error=str(exc))
            return await self.sessions.worker_of(session_id)
        if cached:
            return cached  # type: ignore[return-value]  # the stubs cannot tell the client decodes (decode_responses)
        worker_id = await self.sessions.worker_of(session_id)
        if worker_id:
            await self.remember(session_id, worker_id)
        return worker_id
