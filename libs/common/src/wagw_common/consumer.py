"""Consuming a queue: validate against the contract, run the handler, ack only once it finished.

Outcomes, each counted in `wagw_broker_messages_consumed_total{queue,outcome}` and logged:
- `ack`: handled (or a duplicate already handled, skipped through the inbox);
- `rejected`: the handler raised a DomainError: the request cannot be done, the caller is told;
- `retry`: the handler failed unexpectedly; redelivered after a short pause;
- `dead_lettered`: malformed (never handleable), or failed BROKER_MAX_ATTEMPTS times."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable, Mapping, Protocol

import aiormq
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from .broker import Broker
from .contracts import contract_for
from .envelope import Envelope, MalformedMessage, parse_envelope
from .errors import DomainError
from .logging import correlation_scope, get_logger
from .metrics import HANDLER_LATENCY, MESSAGES_CONSUMED, labelled
from .rpc import reply_to_request
from .topology import QueueSpec

log = get_logger(__name__)

Handler = Callable[[Envelope], Awaitable[Any]]


class Inbox(Protocol):
    """Remembers handled envelope ids so a redelivered message is not handled twice."""

    async def seen(self, envelope_id: str) -> bool: ...

    async def remember(self, envelope_id: str, message_type: str) -> None: ...


@dataclass(frozen=True)
class Subscription:
    queue: QueueSpec
    handlers: Mapping[str, Handler]
    prefetch: int | None = None
    # Handlers that are idempotent by themselves (e.g. heartbeats) skip the inbox: it would cost a
    # write per message for nothing.
    use_inbox: bool = True
    # Messages with the same key (e.g. a session id) are handled one after another, in delivery order;
    # others still run side by side. None: every message at once, up to the prefetch.
    serialize_by: Callable[[Envelope], str | None] | None = None
    # False: requests (a `reply_to`) are answered by their handlers, not by the consumer through the
    # default exchange (a worker may publish only to the uplink exchange, so it answers there).
    replies: bool = True


def new_replica_id() -> str:
    return uuid.uuid4().hex[:12]


def _retry_pause(attempt: int) -> float:
    return min(0.2 * 2.0 ** (attempt - 1), 5.0)


class Consumer:
    def __init__(self, broker: Broker, subscription: Subscription, *, prefetch: int, max_attempts: int,
                 inbox: Inbox | None = None, replica_id: str | None = None):
        """`replica_id` names a per-replica queue (`QueueSpec.for_replica`): the service's own, when it
        binds that queue itself; by default one of the consumer's."""
        self.broker = broker
        self.subscription = subscription
        spec = subscription.queue
        # A per-replica queue is named once per consumer, so it stays the same across broker reconnects.
        self.spec = spec.for_replica(replica_id or new_replica_id()) if spec.per_replica else spec
        self.queue_name = self.spec.label
        self.prefetch = subscription.prefetch or prefetch
        self.max_attempts = max_attempts
        self.inbox = inbox if subscription.use_inbox else None
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._turns: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # key -> (lock, [holders and waiters])
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None

    async def start(self, attempts: int = 5) -> None:
        for attempt in range(1, attempts + 1):
            try:
                channel = await self.broker.channel(self.prefetch)
                self._queue = await self.broker.declare_queue(self.spec, channel)
                self._tag = await self._queue.consume(self._on_message)
                break
            except (aiormq.exceptions.AMQPError, ConnectionError) as exc:
                # A quorum queue that another replica declares at this very moment may not be running
                # yet: RabbitMQ answers the consume with INTERNAL_ERROR and closes the connection. The
                # robust connection comes back by itself; then the queue is there and running.
                if attempt == attempts:
                    raise
                log.warning("consumer.start_retry", queue=self.queue_name, attempt=attempt, error=repr(exc))
                await asyncio.sleep(0.5 * attempt)
                if self.broker.connection is not None:
                    async with asyncio.timeout(60):
                        await self.broker.connection.connected.wait()
        if self.spec.family:
            # Compatibility: the family's shared queue, which versions before the per-replica queues
            # consumed. Remove this once every deployment has run a version with per-replica queues.
            await self.broker.retire_queue(self.spec.family)
        log.info("consumer.started", queue=self.queue_name, declared=self.spec.name,
                 types=sorted(self.subscription.handlers))

    @property
    def in_flight(self) -> int:
        """Messages being handled right now."""
        return len(self._in_flight)

    async def pause(self) -> None:
        """Stop taking messages (the first step of a graceful stop); those in hand carry on."""
        tag, self._tag = self._tag, None
        if self._queue is not None and tag is not None and self.broker.is_connected:
            # A cancel on a channel that is reconnecting would wait forever, hence the bound. If it
            # fails, the unacknowledged messages go back to the queue when the connection closes.
            try:
                async with asyncio.timeout(5):
                    await self._queue.cancel(tag)
            except Exception as exc:
                log.warning("consumer.cancel_failed", queue=self.queue_name, error=repr(exc))

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking messages, then let the ones in hand finish (bounded by `grace`)."""
        await self.pause()
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=grace)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None  # aio-pika runs each delivery in a task of its own
        self._in_flight.add(task)
        started = time.perf_counter()
        try:
            outcome = await self._handle(message)
        except Exception as exc:
            # Never leave a message unacknowledged behind an error (it would sit "unacked" until the
            # channel closes, i.e. be lost to this consumer): back to the queue, after a pause.
            log.error("message.handling_crashed", queue=self.queue_name, error=repr(exc), exc_info=exc)
            outcome = await self._requeue(message)
        finally:
            self._in_flight.discard(task)
        labelled(MESSAGES_CONSUMED, self.queue_name, outcome).inc()
        labelled(HANDLER_LATENCY, self.queue_name).observe(time.perf_counter() - started)

    async def _requeue(self, message: AbstractIncomingMessage) -> str:
        await asyncio.sleep(1.0)
        try:
            await message.nack(requeue=True)
        except Exception as exc:  # the channel is gone: the broker requeues it by itself
            log.warning("message.requeue_failed", queue=self.queue_name, error=repr(exc))
        return "retry"

    async def _handle(self, message: AbstractIncomingMessage) -> str:
        try:
            envelope = parse_envelope(message.body)
        except MalformedMessage as exc:
            return await self._dead_letter(message, exc, None)
        with correlation_scope(envelope.correlation_id, message_type=envelope.type, envelope_id=envelope.id,
                               queue=self.queue_name):
            try:
                handler = self.subscription.handlers.get(envelope.type)
                if handler is None:
                    raise MalformedMessage(f"no handler for {envelope.type!r} on this queue")
                envelope = replace(envelope, data=contract_for(envelope.type).load(envelope.data),
                                   user_id=message.user_id, reply_to=message.reply_to,
                                   redelivered=bool(message.redelivered))
            except MalformedMessage as exc:
                return await self._dead_letter(message, exc, envelope)
            return await self._run(message, envelope, handler)

    async def _run(self, message: AbstractIncomingMessage, envelope: Envelope, handler: Handler) -> str:
        key = self.subscription.serialize_by(envelope) if self.subscription.serialize_by else None
        if key is None:
            return await self._run_now(message, envelope, handler)
        # Nothing awaits between the delivery and this point, and asyncio's locks are fair (first come,
        # first served), so messages of one key take their turns in delivery order.
        lock, users = self._turns.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                return await self._run_now(message, envelope, handler)
        finally:
            users[0] -= 1
            if not users[0]:
                del self._turns[key]

    def _answers(self, message: AbstractIncomingMessage) -> bool:
        """A request this consumer answers itself (see `Subscription.replies`)."""
        return bool(message.reply_to) and self.subscription.replies

    async def _run_now(self, message: AbstractIncomingMessage, envelope: Envelope, handler: Handler) -> str:
        is_request = self._answers(message)
        try:
            # Inside the try: the inbox is in the database, which may be away (a retry, like the handler's).
            if not is_request and self.inbox is not None and await self.inbox.seen(envelope.id):
                log.info("message.duplicate_skipped")
                await message.ack()
                return "ack"
            result = await handler(envelope)
        except DomainError as err:
            log.info("message.rejected", code=err.code, reason=err.message)
            if is_request:
                await reply_to_request(self.broker, message, envelope, error=err.to_dict())
            await message.ack()
            return "rejected"
        except Exception as exc:
            return await self._failed(message, envelope, exc)
        if is_request:
            await reply_to_request(self.broker, message, envelope, result=result)
        elif self.inbox is not None:
            try:
                await self.inbox.remember(envelope.id, envelope.type)
            except Exception as exc:
                # The work is done; a redelivery would meet handlers idempotent on their own ids.
                log.warning("inbox.remember_failed", error=repr(exc))
        await message.ack()
        log.info("message.handled")
        return "ack"

    async def _failed(self, message: AbstractIncomingMessage, envelope: Envelope, exc: Exception) -> str:
        # RabbitMQ counts deliveries of a quorum queue as an integer header.
        attempt = int((message.headers or {}).get("x-delivery-count", 0) or 0) + 1  # type: ignore[arg-type]
        if self._answers(message) or attempt >= self.max_attempts:
            # A caller waiting for a reply is answered now rather than after its timeout.
            log.error("message.failed_dead_lettered", attempt=attempt, error=repr(exc), exc_info=exc)
            if self._answers(message):
                await reply_to_request(
                    self.broker, message, envelope,
                    error={"code": "unavailable", "message": "the service could not handle the request",
                           "details": None},
                )
            await message.reject(requeue=False)
            return "dead_lettered"
        log.warning("message.failed_will_retry", attempt=attempt, error=repr(exc))
        await asyncio.sleep(_retry_pause(attempt))
        await message.nack(requeue=True)
        return "retry"

    async def _dead_letter(self, message: AbstractIncomingMessage, exc: MalformedMessage,
                           envelope: Envelope | None) -> str:
        log.warning("message.malformed_dead_lettered", reason=exc.reason, details=exc.details,
                    message_type=message.type, queue=self.queue_name)
        if self._answers(message) and envelope is not None:
            await reply_to_request(
                self.broker, message, envelope, error={"code": "invalid", "message": exc.reason, "details": exc.details}
            )
        await message.reject(requeue=False)
        return "dead_lettered"
