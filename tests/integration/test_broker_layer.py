"""The broker layer against the real RabbitMQ: confirms, persistence, retries, dead letters, RPC."""

import asyncio

import aio_pika
import pytest

from harness.infra import create_vhost, delete_vhost
from wagw_common import topology
from wagw_common.broker import Broker
from wagw_common.consumer import Consumer, Subscription
from wagw_common.errors import NotFound, RemoteError, Unavailable
from wagw_common.rpc import RpcClient
from wagw_common.topology import QueueSpec

pytestmark = pytest.mark.integration
QUEUE = QueueSpec("test.session-commands", ((topology.COMMANDS, "session.*"),))
SESSION_REF = {"tenant_id": "u_1", "session_id": "s_1"}


@pytest.fixture
async def broker():
    vhost = await create_vhost()
    broker = Broker(vhost.amqp_url, source="test")
    await broker.connect(startup_timeout=10)
    yield broker
    await broker.close()
    await delete_vhost(vhost)


async def _consume(broker, handlers, max_attempts=3):
    consumer = Consumer(broker, Subscription(QUEUE, handlers), prefetch=4, max_attempts=max_attempts)
    await consumer.start()
    return consumer


async def _dead_letters(broker, expected: int, timeout: float = 10.0) -> list[aio_pika.abc.AbstractIncomingMessage]:
    channel = await broker.channel(prefetch=10)
    queue = await broker.declare_queue(QUEUE, channel)
    dead = await channel.get_queue(QUEUE.dead_letter_name)
    found = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(found) < expected and asyncio.get_running_loop().time() < deadline:
        message = await dead.get(fail=False)
        if message is None:
            await asyncio.sleep(0.1)
            continue
        await message.ack()
        found.append(message)
    assert queue.name == QUEUE.name
    return found


async def test_malformed_message_is_dead_lettered_and_consumer_keeps_going(broker):
    handled = asyncio.Event()

    async def on_get(envelope):
        handled.set()
        return None

    consumer = await _consume(broker, {"session.get": on_get})
    await broker._channel.default_exchange.publish(aio_pika.Message(b"{not json"), routing_key=QUEUE.name)
    dead = await _dead_letters(broker, 1)
    assert dead[0].body == b"{not json"
    await broker.send_command("session.get", SESSION_REF)
    async with asyncio.timeout(10):
        await handled.wait()
    await consumer.stop()


async def test_failing_handler_is_retried_then_dead_lettered(broker):
    calls = []

    async def always_fails(envelope):
        calls.append(envelope.id)
        raise RuntimeError("database unreachable")

    consumer = await _consume(broker, {"session.get": always_fails}, max_attempts=3)
    sent = await broker.send_command("session.get", SESSION_REF)
    dead = await _dead_letters(broker, 1, timeout=15)
    await consumer.stop()
    assert calls == [sent.id] * 3
    assert dead[0].message_id == sent.id
    assert dead[0].delivery_mode == aio_pika.DeliveryMode.PERSISTENT


async def test_request_reply_returns_results_and_errors(broker):
    async def on_get(envelope):
        if envelope.data["session_id"] == "s_missing":
            raise NotFound("no such session")
        return {"session_id": envelope.data["session_id"], "tenant_id": "u_1", "name": "x", "description": "",
                "status": "DISCONNECTED", "worker_id": None, "created_at": envelope.time, "updated_at": envelope.time}

    consumer = await _consume(broker, {"session.get": on_get})
    rpc = RpcClient(broker, default_timeout=5)
    await rpc.start()
    reply = await rpc.call("session.get", SESSION_REF)
    assert reply["status"] == "DISCONNECTED"
    with pytest.raises(RemoteError) as info:
        await rpc.call("session.get", {**SESSION_REF, "session_id": "s_missing"})
    assert info.value.code == "not_found"
    await consumer.stop()


async def test_request_without_a_consumer_times_out_cleanly(broker):
    await broker.declare_queue(QUEUE)
    rpc = RpcClient(broker, default_timeout=0.5)
    await rpc.start()
    with pytest.raises(Unavailable):
        await rpc.call("session.get", SESSION_REF)


async def test_unroutable_command_is_refused_not_lost(broker):
    with pytest.raises(aio_pika.exceptions.PublishError):
        await broker.send_command("session.get", SESSION_REF)
