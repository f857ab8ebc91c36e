"""The dead-letter tool against the real broker: replay moves confirmed copies back into the queue,
with a fresh attempt budget, only of the type asked for; show leaves the messages where they are."""

from __future__ import annotations

import aio_pika
import pytest

from harness.infra import create_vhost, delete_vhost
from wagw_common.broker import Broker
from wagw_common.dead_letters import replay, show
from wagw_common.topology import QueueSpec

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
SPEC = QueueSpec("test.replay")


@pytest.fixture
async def vhost():
    vhost = await create_vhost("wagw-deadletters")
    try:
        yield vhost
    finally:
        await delete_vhost(vhost)


async def _dead_letter(channel, spec: QueueSpec, types: list[str]) -> None:
    """Reject messages on the queue so the broker itself dead-letters them (x-death and all)."""
    queue = await channel.get_queue(spec.name)
    for i, message_type in enumerate(types):
        await channel.default_exchange.publish(
            aio_pika.Message(f"body {i}".encode(), type=message_type, message_id=f"m{i}",
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=spec.name)
    for _ in types:
        message = await queue.get(timeout=5)
        await message.reject(requeue=False)


async def _drain(queue, expected: int) -> list[aio_pika.IncomingMessage]:
    found = []
    for _ in range(50):
        message = await queue.get(fail=False, timeout=5)
        if message is None:
            if len(found) >= expected:
                break
            continue
        await message.ack()
        found.append(message)
    return found


async def test_replay_moves_dead_letters_of_one_type_back_into_their_queue(vhost):
    broker = Broker(vhost.amqp_url, source="test")
    await broker.connect(10)
    try:
        channel = await broker.channel(10)
        await broker.declare_queue(SPEC, channel)
        await _dead_letter(channel, SPEC, ["a.one", "b.two", "a.one"])
        dead = await channel.get_queue(SPEC.dead_letter_name)
        for _ in range(50):
            if (await channel.declare_queue(SPEC.dead_letter_name, passive=True)).declaration_result.message_count == 3:
                break

        shown = await show(broker.connection, SPEC.name, 10)
        assert [m["type"] for m in shown] == ["a.one", "b.two", "a.one"] and shown[0]["reason"] == "rejected"

        result = await replay(broker.connection, SPEC.name, message_type="a.one")
        assert result == {"replayed": 2, "skipped": 1, "left": 1}
        back = await _drain(await channel.get_queue(SPEC.name), 2)
        assert sorted(m.message_id for m in back) == ["m0", "m2"]
        assert all("x-death" not in (m.headers or {}) for m in back), "a replayed message starts afresh"

        left = await _drain(dead, 1)
        assert [m.type for m in left] == ["b.two"]
    finally:
        await broker.close()
