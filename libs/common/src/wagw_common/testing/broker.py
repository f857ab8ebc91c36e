"""A broker in memory: the platform's exchanges and routing rules, queues with acknowledgements,
redelivery counts and dead letters, delivering to whatever consumes them (the real `Consumer`, the
real `RpcClient`) as aio-pika would: one task per delivery, at most `prefetch` unacknowledged."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from aio_pika import ExchangeType
from aio_pika.exceptions import PublishError

from .. import topology
from ..broker import Publishing
from ..envelope import Envelope, parse_envelope
from ..topology import QueueSpec

Callback = Callable[["DeliveredMessage"], Awaitable[None]]


class Unroutable(PublishError):
    """What the real broker's return of a mandatory message raises, without a frame behind it."""

    def __init__(self, reason: str):
        Exception.__init__(self, reason)
        # No delivered message or frame to carry: the reason stands in for both, as a string.
        self.message, self.frame = reason, None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Unroutable({self.args[0]!r})"


def topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: `*` is exactly one word, `#` zero or more."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and (p[0] == "*" or p[0] == k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), key.split("."))


@dataclass(frozen=True)
class Published:
    exchange: str
    routing_key: str
    envelope: Envelope
    reply_to: str | None = None
    user_id: str | None = None


@dataclass
class DeliveredMessage:
    """What a consumer reads of a delivery, and how it settles it."""

    body: bytes
    type: str
    message_id: str
    correlation_id: str | None
    reply_to: str | None
    user_id: str | None
    headers: dict[str, Any]
    _queue: "MemoryQueue"
    settled: str | None = None
    redelivered: bool = False  # handed out before: requeued by a consumer

    async def ack(self) -> None:
        self._queue.settle(self, "ack")

    async def nack(self, requeue: bool = True) -> None:
        self._queue.settle(self, "requeue" if requeue else "dead")

    async def reject(self, requeue: bool = False) -> None:
        self._queue.settle(self, "requeue" if requeue else "dead")


@dataclass
class MemoryQueue:
    name: str
    broker: "InMemoryBroker"
    dead_letter_to: str | None = None
    delivery_limit: int | None = None
    ready: list[DeliveredMessage] = field(default_factory=list)
    consumers: dict[str, tuple[Callback, int | None, bool]] = field(default_factory=dict)
    unacked: dict[int, DeliveredMessage] = field(default_factory=dict)
    dead: list[DeliveredMessage] = field(default_factory=list)

    async def consume(self, callback: Callback, no_ack: bool = False, **_: Any) -> str:
        tag = f"ctag-{next(self.broker.tags)}"
        self.consumers[tag] = (callback, self.broker.prefetch_of(self), no_ack)
        self.dispatch()
        return tag

    async def cancel(self, tag: str, **_: Any) -> None:
        self.consumers.pop(tag, None)

    def put(self, message: DeliveredMessage) -> None:
        self.ready.append(message)
        self.dispatch()

    def dispatch(self) -> None:
        # Single-active style: the first consumer takes what its prefetch allows (enough for tests:
        # ordering across competing consumers is the real broker's business, tested against it).
        for callback, prefetch, no_ack in list(self.consumers.values()):
            while self.ready and (no_ack or prefetch is None or len(self.unacked) < prefetch):
                message = self.ready.pop(0)
                if no_ack:
                    message.settled = "ack"
                else:
                    self.unacked[id(message)] = message
                self.broker.run(callback(message))
            break

    def settle(self, message: DeliveredMessage, outcome: str) -> None:
        if message.settled is not None:
            raise RuntimeError(f"{self.name}: a delivery settled twice ({message.settled}, then {outcome})")
        message.settled = outcome
        self.unacked.pop(id(message), None)
        if outcome == "requeue":
            count = int(message.headers.get("x-delivery-count", 0)) + 1
            again = DeliveredMessage(message.body, message.type, message.message_id, message.correlation_id,
                                     message.reply_to, message.user_id, {**message.headers, "x-delivery-count": count},
                                     self, redelivered=True)
            if self.delivery_limit is not None and count > self.delivery_limit:
                self._dead_letter(again)
            else:
                self.ready.append(again)
        elif outcome == "dead":
            self._dead_letter(message)
        self.dispatch()
        self.broker.changed()

    def _dead_letter(self, message: DeliveredMessage) -> None:
        self.dead.append(message)
        if self.dead_letter_to is not None:
            self.broker.route(topology.DEAD_LETTER, self.dead_letter_to, message)

    def envelopes(self) -> list[Envelope]:
        return [parse_envelope(m.body) for m in self.ready]


class MemoryChannel:
    def __init__(self, broker: "InMemoryBroker", prefetch: int | None):
        self.broker, self.prefetch = broker, prefetch

    async def declare_queue(self, name: str, **_: Any) -> MemoryQueue:
        queue = self.broker.queue(name)
        self.broker.channel_of[name] = self
        return queue

    async def set_qos(self, prefetch_count: int) -> None:
        self.prefetch = prefetch_count


class InMemoryBroker(Publishing):
    """Publishes through the real typed helpers (`send_command`, `publish_event`, ...); what a
    mandatory message finds no queue for raises `PublishError`, as the real broker's return does."""

    def __init__(self, *, source: str = "test", user_id: str | None = None):
        self.source = source
        self.user_id = user_id
        self.connection = None
        self.queues: dict[str, MemoryQueue] = {}
        self.bindings: list[tuple[str, str, str]] = []  # (exchange, pattern, queue)
        self.published: list[Published] = []
        self.channel_of: dict[str, MemoryChannel] = {}
        self.tags = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self.is_connected = True
        self.restored = True
        self._on_reconnect: list[Callable[[], Any]] = []

    # What a speaker other than this broker's own publishes with (a worker, another service).
    def speaking_as(self, *, source: str, user_id: str | None) -> "InMemoryBroker":
        other = object.__new__(InMemoryBroker)
        other.__dict__.update(self.__dict__)
        other.source, other.user_id = source, user_id
        return other

    def on_reconnect(self, callback: Callable[[], Any]) -> Callable[[], None]:
        """As `Broker.on_reconnect`; `reconnect()` calls the callbacks, as a connection coming back does."""
        self._on_reconnect.append(callback)
        return lambda: self._on_reconnect.remove(callback) if callback in self._on_reconnect else None

    def reconnect(self) -> None:
        for callback in list(self._on_reconnect):
            callback()

    # -- what the consumer and the RPC client use -------------------------------------------------
    async def channel(self, prefetch: int | None = None) -> MemoryChannel:
        return MemoryChannel(self, prefetch)

    async def declare_queue(self, spec: QueueSpec, channel: MemoryChannel | None = None) -> MemoryQueue:
        queue = self.queue(spec.name, dead_letter_to=spec.label, delivery_limit=topology.DELIVERY_LIMIT)
        if channel is not None:
            self.channel_of[spec.name] = channel
        for exchange, key in spec.bindings:
            self.bind(exchange, key, spec.name)
        for exchange, key in spec.retired_bindings:
            self.bindings[:] = [b for b in self.bindings if b != (exchange, key, spec.name)]
        dead = self.queue(spec.dead_letter_name)
        self.bind(topology.DEAD_LETTER, spec.label, dead.name)
        return queue

    async def set_bindings(self, queue: QueueSpec, bind: tuple[tuple[str, str], ...] = (),
                           unbind: tuple[tuple[str, str], ...] = ()) -> None:
        await self.declare_queue(queue)
        for exchange, key in bind:
            self.bind(exchange, key, queue.name)
        self.bindings[:] = [b for b in self.bindings if b[2] != queue.name or (b[0], b[1]) not in unbind]

    async def retire_queue(self, name: str) -> None:
        queue = self.queues.get(name)
        if queue is not None and not queue.consumers:
            del self.queues[name]
            self.bindings[:] = [b for b in self.bindings if b[2] != name]

    def prefetch_of(self, queue: MemoryQueue) -> int | None:
        channel = self.channel_of.get(queue.name)
        return channel.prefetch if channel is not None else None

    def queue(self, name: str, *, dead_letter_to: str | None = None, delivery_limit: int | None = None) -> MemoryQueue:
        if name not in self.queues:
            self.queues[name] = MemoryQueue(name, self, dead_letter_to, delivery_limit)
        return self.queues[name]

    def bind(self, exchange: str, pattern: str, queue: str) -> None:
        if (exchange, pattern, queue) not in self.bindings:
            self.bindings.append((exchange, pattern, queue))

    def hold(self, exchange: str, pattern: str, name: str | None = None) -> MemoryQueue:
        """A queue nobody consumes, bound to `pattern`: what reaches it waits there (`envelopes()`)."""
        queue = self.queue(name or f"held.{exchange}.{pattern}")
        self.bind(exchange, pattern, queue.name)
        return queue

    def hold_for_worker(self, worker_id: str) -> MemoryQueue:
        spec = topology.worker_command_queue(worker_id)
        (exchange, key), = spec.bindings
        return self.hold(exchange, key, spec.name)

    # -- publishing --------------------------------------------------------------------------------
    async def publish(self, envelope: Envelope, *, exchange: str, routing_key: str, mandatory: bool = True,
                      reply_to: str | None = None, correlation_id: str | None = None, persistent: bool = True,
                      retry: bool = True, expiration: float | None = None) -> None:
        if not self.is_connected:  # `is_connected = False`: the broker is away, as the real one fails then
            raise ConnectionError("broker not connected")
        self.published.append(Published(exchange, routing_key, envelope, reply_to, self.user_id))
        message = DeliveredMessage(envelope.to_json(), envelope.type, envelope.id,
                                   correlation_id or envelope.correlation_id, reply_to, self.user_id, {},
                                   _queue=None)  # type: ignore[arg-type]
        if not self.route(exchange, routing_key, message) and mandatory:
            raise Unroutable(f"NO_ROUTE {exchange}/{routing_key}")

    def route(self, exchange: str, routing_key: str, message: DeliveredMessage) -> bool:
        if exchange == "":
            targets = [routing_key] if routing_key in self.queues else []
        else:
            kind = topology.EXCHANGES.get(exchange, ExchangeType.TOPIC)
            targets = [q for ex, pattern, q in self.bindings if ex == exchange and (
                topic_matches(pattern, routing_key) if kind is ExchangeType.TOPIC else pattern == routing_key)]
        for name in dict.fromkeys(targets):
            copy = DeliveredMessage(message.body, message.type, message.message_id, message.correlation_id,
                                    message.reply_to, message.user_id, dict(message.headers), self.queues[name])
            self.queues[name].put(copy)
        self.changed()
        return bool(targets)

    # -- running -----------------------------------------------------------------------------------
    def run(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.changed()

    def changed(self) -> None:
        self._changed.set()

    def busy(self) -> bool:
        consumed = (q for q in self.queues.values() if q.consumers)
        return bool(self._tasks) or any(q.ready or q.unacked for q in consumed)

    async def settled(self, timeout: float = 10.0) -> None:
        """Until every consumed queue is empty and every handler has finished (retries included)."""
        async with asyncio.timeout(timeout):
            while self.busy():
                self._changed.clear()
                await self._changed.wait()

    def sent(self, exchange: str | None = None, message_type: str | None = None) -> list[Envelope]:
        return [p.envelope for p in self.published
                if (exchange is None or p.exchange == exchange)
                and (message_type is None or p.envelope.type == message_type)]

    def to_worker(self, worker_id: str) -> list[Envelope]:
        return [p.envelope for p in self.published
                if p.exchange == topology.WORKER_DOWNLINK and p.routing_key == worker_id]

    def events(self, event_type: str | None = None) -> list[Envelope]:
        return self.sent(topology.EVENTS, event_type)

    def dead_letters(self, queue: str) -> list[Envelope]:
        return [parse_envelope(m.body) for m in self.queues[queue].dead] if queue in self.queues else []

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()


class SlowBindingBroker(InMemoryBroker):
    """Binding takes a moment, as a broker round trip does: what lets concurrent changes of a queue bound
    on demand interleave in a test."""

    async def set_bindings(self, queue: QueueSpec, bind: tuple[tuple[str, str], ...] = (),
                           unbind: tuple[tuple[str, str], ...] = ()) -> None:
        await asyncio.sleep(random.uniform(0, 0.005))
        await super().set_bindings(queue, bind, unbind)
