"""The broker client's own rules, without a broker: a publish is bounded as a whole, consumers may
share a pool of channels, and a connection may carry the user it speaks as."""

from __future__ import annotations

import asyncio

import pytest

from wagw_common import broker as broker_module
from wagw_common.broker import Broker
from wagw_common.envelope import Envelope

pytestmark = pytest.mark.unit


class HangingExchange:
    """A robust channel caught restoring itself: the publish never returns, confirm or not."""

    def __init__(self):
        self.messages = []

    async def publish(self, message, **_):
        self.messages.append(message)
        await asyncio.Event().wait()


def envelope() -> Envelope:
    return Envelope(type="worker.heartbeat", source="worker/w1", data={})


async def test_a_publish_that_hangs_is_given_up_after_its_bound_and_retried_within_the_retry_budget(monkeypatch):
    monkeypatch.setattr(broker_module, "PUBLISH_WAIT_SECONDS", 0.1)
    broker = Broker("amqp://unused", source="test", publish_retry_seconds=0.3, user_id="worker.w1")
    exchange = HangingExchange()
    broker._channel, broker._exchanges = object(), {"wagw.worker-uplink": exchange}
    async with asyncio.timeout(5):  # without the bound this would wait forever
        with pytest.raises(asyncio.TimeoutError):
            await broker.publish(envelope(), exchange="wagw.worker-uplink", routing_key="worker.heartbeat")
    assert len(exchange.messages) >= 2  # tried again, then given up
    message = exchange.messages[0]
    assert (message.user_id, message.app_id) == ("worker.w1", "worker/w1")


class Connection:
    def __init__(self):
        self.opened = []

    async def channel(self, **_):
        class Channel:
            async def set_qos(self, prefetch_count):
                self.prefetch = prefetch_count

        self.opened.append(Channel())
        return self.opened[-1]


async def test_consumers_share_a_pool_of_channels_per_prefetch_when_asked_to():
    shared = Broker("amqp://unused", source="fleet", consume_channels=2)
    shared.connection = Connection()
    channels = [await shared.channel(1) for _ in range(5)] + [await shared.channel(16)]
    assert len(shared.connection.opened) == 3 and len({id(c) for c in channels[:5]}) == 2
    assert [c.prefetch for c in shared.connection.opened] == [1, 1, 16]
    own = Broker("amqp://unused", source="service")
    own.connection = Connection()
    await own.channel(1), await own.channel(1)
    assert len(own.connection.opened) == 2  # a service's consumers each have their own
