"""A Redis lease, so a periodic loop runs in exactly one replica at a time."""

from __future__ import annotations

import asyncio
import uuid
from typing import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .logging import get_logger

log = get_logger(__name__)

# Renew only if we still hold it: compare-and-set in one step on the server.
_RENEW = ("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
          "else return 0 end")


class Lease:
    def __init__(self, redis: aioredis.Redis, name: str, ttl_seconds: float):
        self.redis = redis
        self.key = f"lease:{name}"
        self.ttl_ms = int(ttl_seconds * 1000)
        self.holder = uuid.uuid4().hex

    async def acquire_or_renew(self) -> bool:
        try:
            if await self.redis.set(self.key, self.holder, nx=True, px=self.ttl_ms):
                return True
            return bool(await self.redis.eval(_RENEW, 1, self.key, self.holder, self.ttl_ms))
        except RedisError as exc:
            log.warning("lease.unavailable", lease=self.key, error=str(exc))
            return False


async def run_periodically_under_lease(lease: Lease, interval: float, tick: Callable[[], Awaitable[None]]) -> None:
    """Call `tick` every `interval` seconds while this replica holds `lease`; errors are logged, not fatal."""
    while True:
        try:
            if await lease.acquire_or_renew():
                await tick()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("periodic.tick_failed", lease=lease.key, error=repr(exc), exc_info=exc)
        await asyncio.sleep(interval)
