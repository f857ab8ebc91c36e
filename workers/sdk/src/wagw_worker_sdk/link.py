"""The broker connection of a worker process: the platform's one client (`wagw_common.broker.Broker`),
set up the way a worker's credentials need, and the one way a worker publishes.

One link can serve many workers (a thousand simulated ones in a load test): they share the
connection and take turns on a small pool of channels, but each still consumes its own queue
(prefetch 1 per consumer). Every publish carries the AMQP `user_id` of the connection's user, which
RabbitMQ checks, so the platform knows for sure who sent it. Logged in as a worker's own user, the
link declares nothing: that user may only write to the uplink exchange and read its own queue."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from wagw_common import topology
from wagw_common.broker import Broker, Publishing
from wagw_common.contracts.workers import worker_of_user
from wagw_common.envelope import Envelope

from .metrics import PUBLISHES


def broker_user(amqp_url: str) -> str:
    """The user a URL logs in as (AMQP's default is guest)."""
    return unquote(urlsplit(amqp_url).username or "guest")


async def publish_uplink(broker: Publishing, envelope: Envelope, *, reply_to: str | None = None,
                         request_id: str | None = None) -> None:
    """Persistent, mandatory (nobody listening is an error), confirmed; transient failures retried
    for a bounded time (a lost confirm may mean a duplicate: the platform is idempotent). An answer
    to a request goes to its asker's routing key (`reply_to`), not mandatory: the asker may be gone."""
    try:
        await broker.publish(envelope, exchange=topology.WORKER_UPLINK, routing_key=reply_to or envelope.type,
                             mandatory=reply_to is None, correlation_id=request_id)
    except Exception:
        PUBLISHES.labels(envelope.type, "failed").inc()
        raise
    PUBLISHES.labels(envelope.type, "confirmed").inc()


class BrokerLink(Broker):
    def __init__(self, amqp_url: str, *, name: str = "worker", publish_channels: int = 1, consume_channels: int = 1,
                 publish_retry_seconds: float = 10.0):
        user = broker_user(amqp_url)
        super().__init__(amqp_url, source=name, publish_retry_seconds=publish_retry_seconds, user_id=user,
                         declares=worker_of_user(user) is None, publish_channels=publish_channels,
                         consume_channels=consume_channels)

    @property
    def connected(self) -> bool:
        return self.is_connected

    async def publish_uplink(self, envelope: Envelope, *, reply_to: str | None = None,
                             request_id: str | None = None) -> None:
        await publish_uplink(self, envelope, reply_to=reply_to, request_id=request_id)
