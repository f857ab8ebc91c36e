"""Held sends do not wait for ever: one replica at a time (a Redis lease) fails those held longer
than `SEND_QUEUE_MAX_AGE_SECONDS` with the reason `expired`, as `message.failed` (so webhooks,
realtime and the history see it like any other failure).

Only messages handed to no worker yet (`routed_to` null) expire, and the failure is a compare-and-set
on exactly that, so a release that hands the message to its worker at the same moment wins or loses
cleanly: a message is never both sent and expired."""

from __future__ import annotations

from datetime import timedelta

from wagw_common.broker import Publishing
from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.logging import get_logger
from wagw_common.outbox import OutboxRelay

from . import clock, events
from .lifecycle import FAILED
from .messages_store import MessagesStore

log = get_logger(__name__)
EXPIRED = "expired"


async def expire_held(messages: MessagesStore, relay: OutboxRelay, broker: Publishing, *, max_age: float) -> int:
    now = clock.now()
    expired = 0
    for message in await messages.held_before(now - timedelta(seconds=max_age)):
        entry = events.message_status(broker, message, status=FAILED, at=now, reason=EXPIRED)
        if await messages.fail_held(message, {"status": FAILED, "at": now, "reason": EXPIRED}, entry) is not None:
            await events.publish_outbox(relay, message["_id"], [entry])
            expired += 1
    if expired:
        log.info("message.held_expired", count=expired, max_age_seconds=max_age)
    return expired


def sweep_interval(max_age: float) -> float:
    """Often enough that a held message outlives its limit by a small fraction of it (at most a minute)."""
    return min(60.0, max(1.0, max_age / 10))


async def run(redis, service: str, messages: MessagesStore, relay: OutboxRelay, broker: Publishing, *,
              max_age: float) -> None:
    interval = sweep_interval(max_age)
    lease = Lease(redis, f"{service}.held-expiry", ttl_seconds=max(3 * interval, 5))

    async def sweep() -> None:
        await expire_held(messages, relay, broker, max_age=max_age)

    await run_periodically_under_lease(lease, interval, sweep)
