"""Redis's plain key/value commands in memory, with a switch that makes every command fail."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockNotOwnedError


class MemoryRedis:
    """What services use of Redis besides scripts (tested against Redis itself), and its locks."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.hashes: dict[str, dict[str, str]] = {}
        self.ttls: dict[str, int | None] = {}
        self.lock_expiries: dict[str, float] = {}
        self.broken = False  # True: every command raises, as when Redis is down

    def _check(self) -> None:
        if self.broken:
            raise RedisConnectionError("redis is down")

    async def get(self, key: str) -> str | None:
        self._check()
        return self.values.get(key)

    async def set(self, key: str, value: object, ex: int | None = None, nx: bool = False, **_: object) -> bool | None:
        self._check()
        if nx and key in self.values:
            return None
        self.values[key] = str(value)
        self.ttls[key] = ex
        return True

    async def incr(self, key: str) -> int:
        self._check()
        self.values[key] = str(int(self.values.get(key, 0)) + 1)
        return int(self.values[key])

    async def decr(self, key: str) -> int:
        self._check()
        self.values[key] = str(int(self.values.get(key, 0)) - 1)
        return int(self.values[key])

    async def delete(self, *keys: str) -> int:
        self._check()
        removed = sum(self.values.pop(k, None) is not None for k in keys)
        for k in keys:
            self.ttls.pop(k, None)
        return removed

    async def ttl(self, key: str) -> int:
        self._check()
        if key not in self.values:
            return -2
        return self.ttls.get(key) or -1

    async def ping(self) -> bool:
        self._check()
        return True

    async def hget(self, key: str, field: str) -> str | None:
        self._check()
        return self.hashes.get(key, {}).get(field)

    def pipeline(self, transaction: bool = True) -> "MemoryPipeline":
        return MemoryPipeline(self)

    def lock(self, name: str, timeout: float, blocking_timeout: float) -> "MemoryLock":
        return MemoryLock(self, name, timeout, blocking_timeout)


class MemoryLock:
    """redis-py's `Lock` as far as services use it: acquire (waiting up to `blocking_timeout`), release
    (`LockNotOwnedError` once it expired: `expire()` expires it, as a stalled holder's does)."""

    def __init__(self, redis: MemoryRedis, name: str, timeout: float, blocking_timeout: float) -> None:
        self.redis, self.name, self.timeout, self.blocking_timeout = redis, name, timeout, blocking_timeout
        self.token = uuid.uuid4().hex

    def _expired(self) -> bool:
        until = self.redis.lock_expiries.get(self.name)
        return until is not None and until <= time.monotonic()

    async def acquire(self) -> bool:
        give_up = time.monotonic() + self.blocking_timeout
        while True:
            self.redis._check()
            if self.name not in self.redis.values or self._expired():
                self.redis.values[self.name] = self.token
                self.redis.lock_expiries[self.name] = time.monotonic() + self.timeout
                return True
            if time.monotonic() >= give_up:
                return False
            await asyncio.sleep(0.01)

    def expire(self) -> None:
        self.redis.lock_expiries[self.name] = time.monotonic()

    async def release(self) -> None:
        self.redis._check()
        if self.redis.values.get(self.name) != self.token or self._expired():
            raise LockNotOwnedError("the lock expired, or another holder has it")
        del self.redis.values[self.name]


class MemoryPipeline:
    """Commands queued by name and run in order by `execute`, their answers in a list."""

    def __init__(self, redis: MemoryRedis) -> None:
        self._redis = redis
        self._queued: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, command: str) -> Any:
        getattr(self._redis, command)  # an unknown command fails when queued, as with redis-py

        def queue(*args: Any, **kwargs: Any) -> "MemoryPipeline":
            self._queued.append((command, args, kwargs))
            return self

        return queue

    async def execute(self) -> list[Any]:
        queued, self._queued = self._queued, []
        return [await getattr(self._redis, command)(*args, **kwargs) for command, args, kwargs in queued]
