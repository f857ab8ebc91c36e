"""A subscription with `serialize_by` handles messages of one key one after another, in delivery
order, while messages of other keys run alongside; without it, everything runs at once."""

import asyncio
import random

import aiormq
import pytest

from wagw_common.broker import Broker
from wagw_common.consumer import Consumer, Subscription
from wagw_common.envelope import parse_envelope
from wagw_common.topology import QueueSpec

pytestmark = pytest.mark.unit


class Delivered:
    """What the consumer reads of an incoming message."""

    def __init__(self, body: bytes):
        self.body, self.reply_to, self.headers, self.user_id, self.redelivered = body, None, {}, None, False
        self.acked = False

    async def ack(self):
        self.acked = True


def _deliveries(broker: Broker, keys: list[str]) -> list[Delivered]:
    return [Delivered(broker.envelope("session.get", {"tenant_id": "u_1", "session_id": key}).to_json())
            for key in keys]


async def _consume(serialize: bool, keys: list[str]) -> tuple[list[tuple[str, int]], int]:
    broker = Broker("amqp://unused", source="test")
    handled, running, most = [], set(), [0]
    index = {}

    async def handler(envelope):
        key = envelope.data["session_id"]
        running.add(id(envelope))
        most[0] = max(most[0], len(running))
        await asyncio.sleep(random.uniform(0, 0.01))
        handled.append((key, index[envelope.id]))
        running.discard(id(envelope))

    subscription = Subscription(QueueSpec("q"), {"session.get": handler},
                                serialize_by=(lambda e: e.data["session_id"]) if serialize else None)
    consumer = Consumer(broker, subscription, prefetch=64, max_attempts=3, inbox=None)
    deliveries = _deliveries(broker, keys)
    for n, delivery in enumerate(deliveries):
        index[parse_envelope(delivery.body).id] = n
    # As aio-pika does: one task per delivery, created in delivery order.
    await asyncio.gather(*(asyncio.create_task(consumer._on_message(d)) for d in deliveries))
    assert all(d.acked for d in deliveries)
    assert not consumer._turns  # no lock left behind
    return handled, most[0]


async def test_one_keys_messages_are_handled_in_delivery_order_and_other_keys_alongside():
    random.seed(7)
    keys = [f"s_{n % 3}" for n in range(30)]
    handled, most = await _consume(True, keys)
    for key in set(keys):
        order = [n for k, n in handled if k == key]
        assert order == sorted(order), (key, order)
    assert 1 < most <= 3  # the three keys ran side by side, never two of one key


async def test_without_a_key_messages_run_at_once_and_may_finish_out_of_order():
    random.seed(7)
    handled, most = await _consume(False, ["s_0"] * 30)
    assert most > 1
    assert [n for _, n in handled] != sorted(n for _, n in handled)


class _Connection:
    def __init__(self):
        self.connected = asyncio.Event()
        self.connected.set()


class _Queue:
    def __init__(self, failures: int):
        self.failures = failures

    async def consume(self, callback):
        if self.failures:
            self.failures -= 1
            raise aiormq.exceptions.ConnectionInternalError("INTERNAL_ERROR")
        return "ctag"


class _StartingBroker(Broker):
    """A broker whose first consumes fail, as when another replica declares the same new quorum queue."""

    def __init__(self, failures: int):
        super().__init__("amqp://unused", source="test")
        self.connection, self.queue = _Connection(), _Queue(failures)

    async def channel(self, prefetch):
        return object()

    async def declare_queue(self, spec, channel=None):
        return self.queue


async def test_a_consume_refused_while_the_queue_starts_elsewhere_is_tried_again():
    broker = _StartingBroker(failures=2)
    consumer = Consumer(broker, Subscription(QueueSpec("q"), {}), prefetch=1, max_attempts=3)
    await consumer.start()
    assert consumer._tag == "ctag"
    with pytest.raises(aiormq.exceptions.ConnectionInternalError):
        await Consumer(_StartingBroker(failures=9), Subscription(QueueSpec("q"), {}), prefetch=1,
                       max_attempts=3).start(attempts=2)
