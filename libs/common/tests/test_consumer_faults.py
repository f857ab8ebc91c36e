"""A consumer never leaves a message unacknowledged behind an error: a database that is away while the
inbox is read is a retry like a failing handler, an inbox that cannot be written after the work is done
still acknowledges, and anything else unexpected puts the message back in the queue. And a handler is
told when the broker hands a message out again."""

import pytest

from wagw_common.broker import Broker
from wagw_common.consumer import Consumer, Subscription
from wagw_common.topology import QueueSpec

pytestmark = pytest.mark.unit


class Delivered:
    def __init__(self, body: bytes, *, ack_fails: bool = False, redelivered: bool = False):
        self.body, self.reply_to, self.headers, self.user_id, self.type = body, None, {}, None, None
        self.redelivered = redelivered
        self.outcome, self.ack_fails = None, ack_fails

    async def ack(self):
        if self.ack_fails:
            raise ConnectionError("channel closed")
        self.outcome = "ack"

    async def nack(self, requeue: bool = True):
        self.outcome = f"nack(requeue={requeue})"

    async def reject(self, requeue: bool = False):
        self.outcome = f"reject(requeue={requeue})"


class Inbox:
    def __init__(self, *, seen_fails=False, remember_fails=False):
        self.seen_fails, self.remember_fails = seen_fails, remember_fails

    async def seen(self, envelope_id):
        if self.seen_fails:
            raise ConnectionError("database away")
        return False

    async def remember(self, envelope_id, message_type):
        if self.remember_fails:
            raise ConnectionError("database away")


async def _deliver(inbox: Inbox, **delivered) -> tuple[Delivered, list]:
    broker = Broker("amqp://unused", source="test")
    handled = []

    async def handler(envelope):
        handled.append(envelope)

    consumer = Consumer(broker, Subscription(QueueSpec("q"), {"session.get": handler}), prefetch=8,
                        max_attempts=5, inbox=inbox)
    message = Delivered(broker.envelope("session.get", {"tenant_id": "u_1", "session_id": "s_1"}
                                        ).to_json(), **delivered)
    await consumer._on_message(message)
    return message, handled


async def test_an_inbox_that_cannot_be_read_is_retried():
    message, handled = await _deliver(Inbox(seen_fails=True))
    assert message.outcome == "nack(requeue=True)" and not handled


async def test_an_inbox_that_cannot_be_written_after_the_work_still_acknowledges():
    message, handled = await _deliver(Inbox(remember_fails=True))
    assert message.outcome == "ack" and len(handled) == 1


async def test_an_unexpected_error_puts_the_message_back():
    message, handled = await _deliver(Inbox(), ack_fails=True)
    assert message.outcome == "nack(requeue=True)" and len(handled) == 1


async def test_the_handler_is_told_when_the_broker_hands_a_message_out_again():
    (_, first), (_, again) = await _deliver(Inbox()), await _deliver(Inbox(), redelivered=True)
    assert [e.redelivered for e in first + again] == [False, True]
