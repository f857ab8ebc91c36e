"""Each tenant's enabled endpoints, as the fan-out matches events against them and attempts use them,
kept in process so that an event (and an attempt) costs one Redis GET instead of a MongoDB find.

Correct across replicas through a per-tenant version in Redis: every write that can change which
endpoints match, or what an attempt reads of them, bumps it (INCR) once MongoDB has taken the
write, and a copy is used only if it was read at the version Redis holds now. The version is read
BEFORE MongoDB, so a write racing a fill leaves the copy under the old version, and the next read
misses instead of keeping it.

A copy is also dropped after MAX_AGE_SECONDS: the bound on staleness when a bump is lost (Redis
down during the write, Redis emptied and its counter starting again at a number a copy was read
at, a replica of an earlier release writing without bumping). With Redis unavailable every read
goes to MongoDB: the cache never fails an event, and after a failure reads leave Redis alone for
RETRY_AFTER_SECONDS, so an unreachable Redis (a connect timeout per GET) does not slow every event."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from redis.exceptions import RedisError

from wagw_common.logging import get_logger

log = get_logger(__name__)
KEY_PREFIX = "webhook-dispatcher:endpoints-version:"
CAPACITY = 10_000  # tenants per replica; the least recently used is forgotten first
MAX_AGE_SECONDS = 60.0
RETRY_AFTER_SECONDS = 5.0
WARN_EVERY_SECONDS = 10.0  # an outage must not log once per event

Endpoints = list[dict[str, Any]]


@dataclass(frozen=True)
class _Copy:
    version: Any  # what Redis held (None: never bumped)
    read_at: float
    endpoints: Endpoints


def version_key(tenant_id: str) -> str:
    return KEY_PREFIX + tenant_id


class MatchingEndpointsCache:
    def __init__(self, redis, *, capacity: int = CAPACITY, max_age: float = MAX_AGE_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.redis = redis
        self.capacity, self.max_age, self.clock = capacity, max_age, clock
        self._copies: OrderedDict[str, _Copy] = OrderedDict()
        self._warned_at: float | None = None
        self._skip_until = float("-inf")
        self._outages = 0  # a fill that began before an outage must not keep what it read

    async def read(self, tenant_id: str, load: Callable[[], Awaitable[Endpoints]]) -> Endpoints:
        """The tenant's endpoints: this process's copy if still current, else `load()` (and keep it).
        Callers must not modify what they get: it is shared by every later read."""
        if self.clock() < self._skip_until:
            return await load()
        outages = self._outages
        try:
            version = await self.redis.get(version_key(tenant_id))
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
            return await load()
        now = self.clock()
        copy = self._copies.get(tenant_id)
        if copy is not None and copy.version == version and now - copy.read_at < self.max_age:
            self._copies.move_to_end(tenant_id)
            return copy.endpoints
        endpoints = await load()
        if outages == self._outages:
            self._copies[tenant_id] = _Copy(version, now, endpoints)
            self._copies.move_to_end(tenant_id)
            while len(self._copies) > self.capacity:
                self._copies.popitem(last=False)
        return endpoints

    async def changed(self, tenant_id: str) -> None:
        """Call after MongoDB took a write that may change which of the tenant's endpoints match."""
        # This replica sees its own write even if the bump fails.
        self._copies.pop(tenant_id, None)
        try:
            await self.redis.incr(version_key(tenant_id))
        except (RedisError, OSError) as exc:
            self._unavailable(exc)

    def _unavailable(self, exc: BaseException) -> None:
        # A bump may be lost while Redis is away: no copy from before can be trusted after it.
        self._copies.clear()
        self._outages += 1
        now = self.clock()
        self._skip_until = now + RETRY_AFTER_SECONDS
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("webhook.endpoint_cache_unavailable", error=repr(exc))
