"""Delivery jobs: one message per delivery on the dispatcher's own queue, so attempts are retried,
spread across replicas and survive restarts independently of the event that caused them."""

from __future__ import annotations

from wagw_common.broker import Broker
from wagw_common.topology import WEBHOOK_DELIVERIES

DELIVERY_JOB = "webhook.delivery.attempt"


async def enqueue_delivery(broker: Broker, delivery_id: str, *, subject: str | None = None) -> None:
    envelope = broker.envelope(DELIVERY_JOB, {"delivery_id": delivery_id}, subject=subject)
    # The default exchange routes by queue name; mandatory, so a missing queue is an error, not a loss.
    await broker.publish(envelope, exchange="", routing_key=WEBHOOK_DELIVERIES.name)
