"""The broker connection of every process, services and workers alike: robust reconnects, publisher
confirms, persistent messages, topology.

A worker's connection differs only by its options: a worker logged in as its own broker user may
declare nothing (`declares=False`: exchanges are taken as they are, its queue is looked up
passively), stamps that user on every publish (`user_id`, which RabbitMQ checks, so the platform knows
who spoke), and a process holding many workers (the load-test fleet) shares a small pool of channels
among them (`publish_channels`, `consume_channels`)."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import datetime
from typing import Any, Callable

import aio_pika
import aiormq
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue, AbstractRobustConnection
from tenacity import AsyncRetrying, retry_if_exception, retry_if_exception_type, stop_after_delay, wait_exponential

from . import topology
from .contracts import contract_for
from .envelope import CONTENT_TYPE, Envelope
from .logging import get_logger
from .metrics import MESSAGES_PUBLISHED, PUBLISH_LATENCY, labelled
from .storage import utc_now
from .tasks import cancellation_only_from_callers
from .topology import QueueSpec

log = get_logger(__name__)

# One publish attempt as a whole, confirm included (then retried within `publish_retry_seconds`):
# aio-pika's own `timeout` covers the confirm only, and a robust channel caught restoring itself
# around a broker restart has been seen to wait forever before it.
PUBLISH_WAIT_SECONDS = 15.0

# Errors that mean "the broker is not reachable right now", worth waiting out for a little while.
TRANSIENT_ERRORS = (
    ConnectionError,
    asyncio.TimeoutError,
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    aio_pika.exceptions.DeliveryError,
)


def _is_transient(exc: BaseException) -> bool:
    # An unroutable mandatory message (PublishError) will not become routable by waiting.
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, aio_pika.exceptions.PublishError)


class Publishing:
    """The typed ways to publish, over any `publish` (the broker's, or the in-memory one of tests):
    the envelope's data is checked against the message type's contract before it leaves."""

    source: str

    async def publish(self, envelope: Envelope, *, exchange: str, routing_key: str, mandatory: bool = True,
                      reply_to: str | None = None, correlation_id: str | None = None, persistent: bool = True,
                      retry: bool = True, expiration: float | None = None) -> None:
        raise NotImplementedError

    def envelope(self, message_type: str, data: dict[str, Any], *, subject: str | None = None,
                 loaded: bool = False) -> Envelope:
        """An envelope whose data has been checked against the message type's contract (`loaded`: by
        the `load` it came out of, see `Contract.dump`)."""
        data = contract_for(message_type).dump(data, loaded=loaded)
        return Envelope(type=message_type, source=self.source, data=data, subject=subject)

    async def publish_event(self, event_type: str, data: dict[str, Any], *, subject: str | None = None) -> Envelope:
        envelope = self.envelope(event_type, data, subject=subject)
        # Events may legitimately have no subscriber yet, so they are not mandatory.
        await self.publish(envelope, exchange=topology.EVENTS, routing_key=event_type, mandatory=False)
        return envelope

    async def send_command(self, command_type: str, data: dict[str, Any], *, subject: str | None = None,
                           routing_key: str | None = None, loaded: bool = False) -> Envelope:
        """`routing_key` defaults to the type (a sharded command names its shard, e.g. `message.send.3`);
        `loaded`: see `envelope`."""
        envelope = self.envelope(command_type, data, subject=subject, loaded=loaded)
        await self.publish(envelope, exchange=topology.COMMANDS, routing_key=routing_key or command_type)
        return envelope

    async def send_to_worker(self, worker_id: str, command_type: str, data: dict[str, Any], *,
                             subject: str | None = None) -> Envelope:
        envelope = self.envelope(command_type, data, subject=subject)
        await self.publish(envelope, exchange=topology.WORKER_DOWNLINK, routing_key=worker_id)
        return envelope


class Broker(Publishing):
    def __init__(self, url: str, *, source: str, publish_retry_seconds: float = 10.0, user_id: str | None = None,
                 declares: bool = True, publish_channels: int = 1, consume_channels: int | None = None):
        """`user_id`: stamped on every publish (the connection's user; RabbitMQ refuses any other).
        `declares`: False for credentials that may declare nothing (a worker's own).
        `consume_channels`: share that many channels per prefetch among the consumers (many workers
        in one process); None gives each consumer a channel of its own."""
        self.url = url
        self.source = source
        self.publish_retry_seconds = publish_retry_seconds
        self.user_id = user_id
        self.declares = declares
        self.connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._publish_channels = max(1, publish_channels)
        self._exchange_sets: list[dict[str, AbstractExchange]] = []
        self._next_exchange_set = itertools.count()
        self._consume_channels = consume_channels
        self._consume_pool: dict[int, list[AbstractChannel]] = {}
        self._next_consume_channel = itertools.count()
        self._on_reconnect: list[Callable[[], Any]] = []
        # When the connection last broke, and when it was last whole again after a break (channels
        # and consumers restored). What was published while it was down never reached us (the
        # worker registry allows for that); between the two, it is not whole yet.
        self.lost_at: datetime | None = None
        self.reconnected_at: datetime | None = None

    async def connect(self, startup_timeout: float = 60.0) -> None:
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(startup_timeout),
            wait=wait_exponential(multiplier=0.2, max=3),
            retry=retry_if_exception_type(
                (ConnectionError, OSError, aiormq.exceptions.AMQPError, asyncio.TimeoutError)),
            reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    log.info("broker.connect_retry", attempt=attempt.retry_state.attempt_number)
                self.connection = await aio_pika.connect_robust(
                    self.url, client_properties={"connection_name": self.source})
        connection = self._connection()
        channels = [await connection.channel(publisher_confirms=True, on_return_raises=True)
                    for _ in range(self._publish_channels)]
        self._channel = channels[0]  # declares, and says whether the connection is whole
        self._exchange_sets = [await self._exchanges_on(channel) for channel in channels]
        self._exchanges = self._exchange_sets[0]
        connection.close_callbacks.add(self._lost)
        connection.reconnect_callbacks.add(self._reconnected)

    def _connection(self) -> AbstractRobustConnection:
        if self.connection is None:
            raise self._not_connected()
        return self.connection

    def _not_connected(self) -> RuntimeError:
        return RuntimeError(f"the broker client of {self.source} is used before connect()")

    def on_reconnect(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """Call `callback` after every reconnect (channels and consumers restored); returns a function
        that removes it."""
        self._on_reconnect.append(callback)
        return lambda: self._on_reconnect.remove(callback) if callback in self._on_reconnect else None

    def _lost(self, _connection: Any, _exc: BaseException | None = None) -> None:
        self.lost_at = utc_now()

    def _reconnected(self, _connection: Any) -> None:
        self.reconnected_at = utc_now()
        log.info("broker.reconnected", source=self.source, callbacks=len(self._on_reconnect))
        for callback in list(self._on_reconnect):
            callback()

    @property
    def restored(self) -> bool:
        """Connected, and not in the middle of coming back (a reconnect restores the channels and
        consumers before it counts as done; `is_connected` turns true before that)."""
        if self.lost_at is not None and (self.reconnected_at is None or self.reconnected_at < self.lost_at):
            return False  # broken, and its reconnect has not finished
        return self.is_connected

    async def _exchanges_on(self, channel: AbstractChannel) -> dict[str, AbstractExchange]:
        exchanges: dict[str, AbstractExchange] = {"": channel.default_exchange}
        for name, kind in topology.EXCHANGES.items():
            if self.declares:
                exchanges[name] = await channel.declare_exchange(name, kind, durable=True)
            else:  # taken as they are: these credentials may only write to them
                exchanges[name] = await channel.get_exchange(name, ensure=False)
        return exchanges

    async def declare_queue(self, spec: QueueSpec, channel: AbstractChannel | None = None) -> AbstractQueue:
        """Declare a queue with its dead-letter queue and bindings; safe to repeat. Without the right
        to declare, the queue was provisioned beforehand (a worker's own): it is only looked up."""
        channel = channel or self._channel
        if channel is None:
            raise self._not_connected()
        if not self.declares:
            return await channel.declare_queue(spec.name, passive=True)
        dead = await channel.declare_queue(spec.dead_letter_name, durable=True,
                                           arguments=topology.dead_letter_arguments())
        await dead.bind(topology.DEAD_LETTER, routing_key=spec.label)
        queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments())
        for exchange, key in spec.bindings:
            await queue.bind(exchange, routing_key=key)
        for exchange, key in spec.retired_bindings:
            await queue.unbind(exchange, routing_key=key)  # a no-op when absent
        return queue

    async def set_bindings(self, queue: QueueSpec, bind: tuple[tuple[str, str], ...] = (),
                           unbind: tuple[tuple[str, str], ...] = ()) -> None:
        """Bind and unbind a queue at run time (a queue bound on demand), declaring it first so this
        may run before its consumer starts. On a channel of its own: a refused operation closes the
        channel it was made on, and that must not be the publishing one."""
        channel = await self._connection().channel()
        try:
            declared = await self.declare_queue(queue, channel)
            for exchange, key in bind:
                await declared.bind(exchange, routing_key=key)
            for exchange, key in unbind:
                await declared.unbind(exchange, routing_key=key)  # a no-op when absent
        finally:
            if not channel.is_closed:
                await channel.close()

    async def retire_queue(self, name: str) -> None:
        """Delete a queue an earlier version consumed (its bindings would fill it for no one), once
        nothing consumes it any more; while an older replica still does, it stays (best effort)."""
        channel = await self._connection().channel()
        try:
            await channel.queue_delete(name, if_unused=True)
            log.info("broker.queue_retired", queue=name)
        except (aiormq.exceptions.AMQPError, ConnectionError) as exc:
            log.info("broker.queue_not_retired", queue=name, reason=repr(exc))
        finally:
            if not channel.is_closed:
                await channel.close()

    async def channel(self, prefetch: int) -> AbstractChannel:
        if self._consume_channels is None:
            return await self._consume_channel(prefetch)
        # Shared: a prefetch applies per consumer, so consumers of one prefetch may share a channel.
        pool = self._consume_pool.setdefault(prefetch, [])
        if len(pool) < self._consume_channels:
            pool.append(await self._consume_channel(prefetch))
            return pool[-1]
        return pool[next(self._next_consume_channel) % len(pool)]

    async def _consume_channel(self, prefetch: int) -> AbstractChannel:
        channel = await self._connection().channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=prefetch)
        return channel

    @property
    def is_connected(self) -> bool:
        return bool(
            self.connection is not None
            and not self.connection.is_closed
            and self.connection.connected.is_set()
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def publish(
        self,
        envelope: Envelope,
        *,
        exchange: str,
        routing_key: str,
        mandatory: bool = True,
        reply_to: str | None = None,
        correlation_id: str | None = None,
        persistent: bool = True,
        retry: bool = True,
        expiration: float | None = None,
    ) -> None:
        """`expiration` (seconds): the message's own TTL in a queue (a wait queue's jitter)."""
        message = Message(
            envelope.to_json(),
            content_type=CONTENT_TYPE,
            delivery_mode=DeliveryMode.PERSISTENT if persistent else DeliveryMode.NOT_PERSISTENT,
            message_id=envelope.id,
            correlation_id=correlation_id or envelope.correlation_id,
            type=envelope.type,
            app_id=envelope.source,  # the broker's own, but for a process speaking for many workers
            user_id=self.user_id,
            timestamp=envelope.time,
            reply_to=reply_to,
            expiration=expiration,
        )
        started = time.perf_counter()
        try:
            if retry:
                await self._publish_with_retry(message, exchange, routing_key, mandatory)
            else:
                await self._publish_once(message, exchange, routing_key, mandatory)
        except Exception:
            labelled(MESSAGES_PUBLISHED, exchange or "default", "failed").inc()
            raise
        labelled(MESSAGES_PUBLISHED, exchange or "default", "confirmed").inc()
        labelled(PUBLISH_LATENCY, exchange or "default").observe(time.perf_counter() - started)

    async def _publish_once(self, message: Message, exchange: str, routing_key: str, mandatory: bool) -> None:
        if self._channel is None:
            raise ConnectionError("broker not connected")
        async with asyncio.timeout(PUBLISH_WAIT_SECONDS):
            with cancellation_only_from_callers("publish"):
                await self._next_exchanges()[exchange].publish(message, routing_key=routing_key, mandatory=mandatory,
                                                               timeout=10)

    def _next_exchanges(self) -> dict[str, AbstractExchange]:
        """The exchanges on the next publishing channel, in turn (one channel: always its own)."""
        if len(self._exchange_sets) > 1:
            return self._exchange_sets[next(self._next_exchange_set) % len(self._exchange_sets)]
        return self._exchanges

    async def _publish_with_retry(self, message: Message, exchange: str, routing_key: str, mandatory: bool) -> None:
        # A robust connection restores itself in the background; a publish that fails meanwhile is
        # retried for a bounded time. A lost confirm may mean a duplicate: consumers are idempotent.
        try:  # the usual case first, without building a retry loop for every message (docs/performance.md)
            return await self._publish_once(message, exchange, routing_key, mandatory)
        except Exception as exc:
            if not _is_transient(exc):
                raise
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(self.publish_retry_seconds),
            wait=wait_exponential(multiplier=0.1, max=2),
            retry=retry_if_exception(_is_transient),
            reraise=True,
        ):
            with attempt:
                await self._publish_once(message, exchange, routing_key, mandatory)

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
