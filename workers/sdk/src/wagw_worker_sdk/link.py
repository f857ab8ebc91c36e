"""The broker connection of a worker process: one robust connection, a few channels, publishing with
confirms, and each worker's own command queue.

One link can serve many workers (a thousand simulated ones in a load test): they share the
connection and take turns on a small pool of channels, but each still consumes its own queue
(prefetch 1 per consumer). Every publish carries the AMQP `user_id` of the connection's user, which
RabbitMQ checks, so the platform knows for sure who sent it."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Awaitable, Callable
from urllib.parse import unquote, urlsplit

import aio_pika
import aiormq
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, AbstractRobustConnection
from tenacity import AsyncRetrying, retry_if_exception, retry_if_exception_type, stop_after_delay, wait_exponential
from wagw_common import topology
from wagw_common.broker import TRANSIENT_ERRORS
from wagw_common.envelope import CONTENT_TYPE, Envelope
from wagw_common.logging import get_logger
from wagw_common.tasks import cancellation_only_from_callers
from wagw_common.topology import QueueSpec

PUBLISH_WAIT_SECONDS = 15.0  # one publish attempt, confirm included (then retried, within publish_retry_seconds)

log = get_logger(__name__)
Callback = Callable[[], Any]


def broker_user(amqp_url: str) -> str:
    """The user a URL logs in as (AMQP's default is guest)."""
    return unquote(urlsplit(amqp_url).username or "guest")


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, aio_pika.exceptions.PublishError)


class BrokerLink:
    def __init__(self, amqp_url: str, *, name: str = "worker", publish_channels: int = 1, consume_channels: int = 1,
                 publish_retry_seconds: float = 10.0):
        self.amqp_url = amqp_url
        self.user = broker_user(amqp_url)
        self.name = name
        self.publish_retry_seconds = publish_retry_seconds
        self.connection: AbstractRobustConnection | None = None
        self._sizes = (max(1, publish_channels), max(1, consume_channels))
        self._uplinks: list[AbstractExchange] = []
        self._consumers: list[AbstractChannel] = []
        self._next_uplink = itertools.count()
        self._next_consumer = itertools.count()
        self._on_reconnect: list[Callback] = []

    async def connect(self, startup_timeout: float = 60.0) -> None:
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(startup_timeout), wait=wait_exponential(multiplier=0.2, max=3), reraise=True,
            retry=retry_if_exception_type((ConnectionError, OSError, aiormq.exceptions.AMQPError,
                                           asyncio.TimeoutError)),
        ):
            with attempt:
                self.connection = await aio_pika.connect_robust(self.amqp_url,
                                                                client_properties={"connection_name": self.name})
        connection = self.connection
        assert connection is not None  # the retries above end connected, or raise
        publish, consume = self._sizes
        for _ in range(publish):
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            # Not declared: a worker's credentials may only write to the uplink exchange.
            self._uplinks.append(await channel.get_exchange(topology.WORKER_UPLINK, ensure=False))
        for _ in range(consume):
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=1)  # per consumer: one command at a time per worker
            self._consumers.append(channel)
        connection.reconnect_callbacks.add(self._reconnected)

    def on_reconnect(self, callback: Callback) -> Callable[[], None]:
        """Call `callback` after every reconnect; returns a function that removes it."""
        self._on_reconnect.append(callback)
        return lambda: self._on_reconnect.remove(callback) if callback in self._on_reconnect else None

    def _reconnected(self, _connection: Any) -> None:
        log.info("worker.broker_reconnected", workers=len(self._on_reconnect))
        for callback in list(self._on_reconnect):
            callback()

    @property
    def connected(self) -> bool:
        return bool(self.connection is not None and not self.connection.is_closed
                    and self.connection.connected.is_set())

    async def consume(self, spec: QueueSpec, on_message: Callable[[Any], Awaitable[None]], *,
                      declare: bool) -> tuple[AbstractQueue, str]:
        """Consume a worker's own queue. With `declare`, declare it (and its dead-letter queue and
        bindings) first; without, the queue was provisioned with the worker's credentials and is
        only looked up (a worker's own credentials cannot declare or bind anything)."""
        channel = self._consumers[next(self._next_consumer) % len(self._consumers)]
        if declare:
            dead = await channel.declare_queue(spec.dead_letter_name, durable=True,
                                               arguments=topology.dead_letter_arguments())
            await dead.bind(topology.DEAD_LETTER, routing_key=spec.name)
            queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments())
            for exchange, key in spec.bindings:
                await queue.bind(exchange, routing_key=key)
        else:
            queue = await channel.declare_queue(spec.name, passive=True)
        return queue, await queue.consume(on_message)

    async def publish_uplink(self, envelope: Envelope, *, reply_to: str | None = None,
                             request_id: str | None = None) -> None:
        """Persistent, mandatory (nobody listening is an error), confirmed; transient failures retried
        for a bounded time (a lost confirm may mean a duplicate: the platform is idempotent). An answer
        to a request goes to its asker's routing key (`reply_to`), not mandatory: the asker may be gone."""
        message = Message(
            envelope.to_json(), content_type=CONTENT_TYPE, delivery_mode=DeliveryMode.PERSISTENT,
            message_id=envelope.id, correlation_id=request_id or envelope.correlation_id, type=envelope.type,
            app_id=envelope.source, timestamp=envelope.time, user_id=self.user,
        )
        exchange = self._uplinks[next(self._next_uplink) % len(self._uplinks)]
        async for attempt in AsyncRetrying(stop=stop_after_delay(self.publish_retry_seconds), reraise=True,
                                           wait=wait_exponential(multiplier=0.1, max=2),
                                           retry=retry_if_exception(_is_transient)):
            with attempt:
                # Bounded as a whole: `timeout` covers the confirm only, and a robust channel caught
                # restoring itself around a broker restart has been seen to wait forever before it.
                async with asyncio.timeout(PUBLISH_WAIT_SECONDS):
                    with cancellation_only_from_callers("uplink publish"):
                        await exchange.publish(message, routing_key=reply_to or envelope.type,
                                           mandatory=reply_to is None, timeout=10)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
