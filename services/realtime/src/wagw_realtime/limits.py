"""Limits: connections per user across every replica (Redis), and a request rate per connection.

The connection count lives in Redis, one sorted set per user (or API key): a member per connection,
scored with the time it lapses. Each replica renews its own members while they are connected, so
the connections of a replica that died without cleaning up lapse by themselves. Redis is not the
only copy of anything here: if it is unreachable, connections are let in (and the miss is logged)."""

from __future__ import annotations

import time
from typing import Iterable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from wagw_common.logging import get_logger

log = get_logger(__name__)

CONNECTION_TTL_SECONDS = 90  # renewed every third of this


class ConnectionQuota:
    def __init__(self, redis: aioredis.Redis, limit: int, *, ttl: float = CONNECTION_TTL_SECONDS):
        self.redis, self.limit, self.ttl = redis, limit, ttl

    @staticmethod
    def _key(owner: str) -> str:
        return f"realtime:connections:{owner}"

    async def admit(self, owner: str, member: str) -> bool:
        """Count the connection in, unless `owner` already holds `limit` live ones."""
        key, now = self._key(owner), time.time()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.zadd(key, {member: now + self.ttl})
                pipe.zcard(key)
                pipe.expire(key, int(self.ttl) + 1)
                _, _, count, _ = await pipe.execute()
            if count <= self.limit:
                return True
            await self.redis.zrem(key, member)
            return False
        except (RedisError, OSError) as exc:
            log.warning("realtime.quota_unavailable", error=repr(exc))
            return True

    async def release(self, owner: str, member: str) -> None:
        try:
            await self.redis.zrem(self._key(owner), member)
        except (RedisError, OSError) as exc:
            log.warning("realtime.quota_unavailable", error=repr(exc))

    async def renew(self, members: Iterable[tuple[str, str]]) -> None:
        """Keep this replica's connections counted (XX: never resurrect one released meanwhile)."""
        expires = time.time() + self.ttl
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for owner, member in members:
                    pipe.zadd(self._key(owner), {member: expires}, xx=True)
                    pipe.expire(self._key(owner), int(self.ttl) + 1)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("realtime.quota_unavailable", error=repr(exc))


class TokenBucket:
    """`rate_per_minute` requests a minute on average, `burst` at once."""

    def __init__(self, rate_per_minute: int, burst: int = 10, clock=time.monotonic):
        self.rate = rate_per_minute / 60.0
        self.capacity = float(max(burst, 1))
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()

    def take(self) -> float:
        """0 when the request may go ahead; otherwise the seconds to wait before the next one."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return round((1 - self.tokens) / self.rate, 3)
