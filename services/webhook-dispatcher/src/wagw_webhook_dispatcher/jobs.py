"""Delivery jobs: one message per attempt on the dispatcher's own queue, so attempts are spread
across replicas, survive restarts, and a retry waits in a delay queue instead of in a process.

A retry is published to the wait queue of its pause (`webhook-dispatcher.wait.<pause>`); when it
expires there, the broker dead-letters it back into `webhook-dispatcher.deliveries`."""

from __future__ import annotations

from typing import Any

from wagw_common.broker import Broker
from wagw_common.topology import WEBHOOK_DELIVERIES, webhook_wait_queue

from .retries import RetryPolicy

DELIVERY_JOB = "webhook.delivery.attempt"


class DeliveryJobs:
    def __init__(self, broker: Broker, policy: RetryPolicy):
        self.broker = broker
        self.policy = policy

    async def declare(self) -> None:
        """The wait queue of every pause of the schedules (safe to repeat; durable)."""
        channel = await self.broker.channel(prefetch=1)
        try:
            for delay in self.policy.delays:
                spec = webhook_wait_queue(delay)
                await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments())
        finally:
            await channel.close()

    async def now(self, delivery_id: str, *, cycle: int = 1, attempt: int = 1, subject: str | None = None,
                  ticket: str | None = None) -> None:
        """`ticket`: the claim the delivery was created with, for its first job (DeliveriesStore)."""
        await self._publish(_job(delivery_id, cycle, attempt, 0, ticket), WEBHOOK_DELIVERIES.name, subject)

    async def later(self, delivery_id: str, *, cycle: int, attempt: int, delay: float, wait: float,
                    deferrals: int = 0, subject: str | None = None, ticket: str | None = None) -> None:
        """Through the wait queue of `delay`, which the job leaves after `wait` (≤ delay: jitter)."""
        data = _job(delivery_id, cycle, attempt, deferrals, ticket)
        await self._publish(data, webhook_wait_queue(delay).name, subject, expiration=wait if wait < delay else None)

    async def put_off(self, job: dict[str, Any], *, turn: float | None = None, subject: str | None = None) -> float:
        """The endpoint is busy: the same attempt, once its `turn` comes (when known), after a pause
        that grows each time at least."""
        delay, wait = self.policy.busy_pause(job["deferrals"], turn)
        await self.later(job["delivery_id"], cycle=job["cycle"], attempt=job["attempt"], delay=delay, wait=wait,
                         deferrals=job["deferrals"] + 1, subject=subject, ticket=job.get("ticket"))
        return delay

    async def _publish(self, data: dict[str, Any], queue: str, subject: str | None, expiration: float | None = None):
        envelope = self.broker.envelope(DELIVERY_JOB, data, subject=subject)
        # The default exchange routes by queue name; mandatory, so a missing queue is an error, not a loss.
        await self.broker.publish(envelope, exchange="", routing_key=queue, expiration=expiration)


def _job(delivery_id: str, cycle: int, attempt: int, deferrals: int, ticket: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"delivery_id": delivery_id, "cycle": cycle, "attempt": attempt, "deferrals": deferrals}
    if ticket is not None:
        data["ticket"] = ticket
    return data
