"""Redis's plain key/value commands in memory, with a switch that makes every command fail."""

from __future__ import annotations

from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError


class MemoryRedis:
    """What services use of Redis besides scripts (tested against Redis itself)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.hashes: dict[str, dict[str, str]] = {}
        self.ttls: dict[str, int | None] = {}
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
