"""Messages sent today, per account: counted by the gateway as it accepts sends.

Redis holds the live count (bumped by the rate-limit script in the same round trip that admits the
send); MongoDB holds the durable one, written from per-process tallies every few seconds with `$inc`
(and once more at shutdown), so the send path never waits for it. Reading takes the larger of the
two: after a Redis restart MongoDB still knows the day's count."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timezone

from redis.exceptions import RedisError
from wagw_common.logging import get_logger

log = get_logger(__name__)
FLUSH_INTERVAL_SECONDS = 5


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def counter_key(tenant_id: str, day: str) -> str:
    return f"gateway:sent:{tenant_id}:{day}"


class SendCounter:
    def __init__(self, collection, redis):
        self.collection = collection
        self.redis = redis
        self._pending: Counter[tuple[str, str]] = Counter()

    def counted(self, tenant_id: str, day: str) -> None:
        """A send was accepted (the Redis count was bumped when it was admitted)."""
        self._pending[(tenant_id, day)] += 1

    async def uncount(self, tenant_id: str, day: str) -> None:
        """A send admitted but then not accepted (the broker refused it)."""
        try:
            await self.redis.decr(counter_key(tenant_id, day))
        except (RedisError, OSError) as exc:
            log.warning("usage.uncount_failed", error=repr(exc))

    async def sent_on(self, tenant_id: str, day: str) -> int:
        try:
            live = int(await self.redis.get(counter_key(tenant_id, day)) or 0)
        except (RedisError, OSError):
            live = 0
        doc = await self.collection.find_one({"_id": f"{tenant_id}:{day}"})
        durable = (doc or {}).get("sent", 0) + self._pending.get((tenant_id, day), 0)
        return max(live, durable)

    async def flush(self) -> None:
        pending, self._pending = self._pending, Counter()
        for (tenant_id, day), count in pending.items():
            try:
                await self.collection.update_one(
                    {"_id": f"{tenant_id}:{day}"},
                    {"$inc": {"sent": count}, "$setOnInsert": {"tenant_id": tenant_id, "day": day}}, upsert=True)
            except Exception as exc:  # kept for the next flush
                self._pending[(tenant_id, day)] += count
                log.warning("usage.flush_failed", error=repr(exc))

    async def run(self) -> None:
        """Flush every few seconds, and once more when cancelled at shutdown."""
        try:
            while True:
                await asyncio.sleep(FLUSH_INTERVAL_SECONDS)
                await self.flush()
        except asyncio.CancelledError:
            await self.flush()
            raise
