"""Worker identity at the broker: credentials made by the operators' tool, a worker using them, and
every way of speaking for another worker refused, by RabbitMQ itself or by the registry."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import quote

import aio_pika
import pytest
import pytest_asyncio
from aiormq.exceptions import ChannelAccessRefused, ChannelPreconditionFailed
from wagw_common import topology
from wagw_common.envelope import Envelope
from wagw_common.worker_speakers import REPORTS_REFUSED
from wagw_worker_sdk import BrokerLink
from wagw_worker_sdk.uplink import WorkerUplink

from wagw_worker_registry import credentials
from wagw_worker_registry.credentials import Management

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


@pytest_asyncio.fixture
async def issue(amqp_url):
    """Create a worker's own credentials on the test's vhost (users are global: revoked afterwards)."""
    api = Management.from_amqp_url(amqp_url)
    made: list[str] = []

    def make(worker_id: str) -> str:
        user, password = credentials.create(api, worker_id)
        made.append(worker_id)
        return credentials.worker_amqp_url(amqp_url, user, password)

    yield make
    for worker_id in made:
        credentials.revoke(api, worker_id)


async def _ignore(_message) -> None:
    pass


def rejected_registrations() -> float:
    return REPORTS_REFUSED.labels("worker.register", "not_the_sender")._value.get()


def ids() -> tuple[str, str]:
    tag = secrets.token_hex(3)
    return f"it-alice-{tag}", f"it-bob-{tag}"


async def test_a_worker_with_its_own_credentials_registers_and_works(start_registry, observer, start_worker, issue):
    await start_registry()
    alice, _ = ids()
    worker, whatsapp = await start_worker(worker_id=alice, url=issue(alice))
    assert worker.provisioned
    await observer.next_event("worker.online", alice)
    async with asyncio.timeout(5):
        await worker.assigned.wait()
    await observer.broker.send_to_worker(alice, "worker.session.start", {"session_id": "s_1", "restore": True})
    async def connected():
        return [s for s in whatsapp.held_sessions() if s["status"] == "CONNECTED"]
    for _ in range(50):
        if await connected():
            break
        await asyncio.sleep(0.1)
    assert whatsapp.held_sessions() == [{"session_id": "s_1", "status": "CONNECTED"}]


async def test_a_worker_cannot_register_as_another_with_its_own_user(start_registry, observer, issue, wait_until):
    await start_registry()
    alice, bob = ids()
    before = rejected_registrations()
    link = BrokerLink(issue(alice))
    await link.connect(10)
    try:
        # Alice's user (RabbitMQ vouches for it) claiming to be Bob: refused by the registry.
        register = {"version": "x", "capacity": {"max_sessions": 5}}
        await WorkerUplink(link, bob).publish("worker.register", register)
        # Alice's user, a message naming Alice but an envelope source naming Bob: refused too.
        forged = WorkerUplink(link, alice).envelope("worker.register", register)
        await link.publish_uplink(Envelope(type=forged.type, source=f"worker/{bob}", data=forged.data))
        async def both_refused():
            return rejected_registrations() == before + 2
        await wait_until(both_refused)
        assert bob not in await observer.workers() and alice not in await observer.workers()
        assert observer.events.empty()
    finally:
        await link.close()


async def test_rabbitmq_refuses_a_forged_user_id_and_everything_outside_the_workers_own_queue(amqp_url, issue):
    alice, bob = ids()
    alice_url = issue(alice)
    issue(bob)
    connection = await aio_pika.connect(alice_url)
    try:
        async def refused(attempt) -> Exception:
            channel = await connection.channel(publisher_confirms=True)
            with pytest.raises((ChannelAccessRefused, ChannelPreconditionFailed)) as error:
                await attempt(channel)
            return error.value

        async def forge_user_id(channel):
            uplink = await channel.get_exchange(topology.WORKER_UPLINK, ensure=False)
            await uplink.publish(aio_pika.Message(b"{}", user_id=f"worker.{bob}"), routing_key="worker.heartbeat")
        assert isinstance(await refused(forge_user_id), ChannelPreconditionFailed)

        async def read_bobs_queue(channel):
            queue = await channel.declare_queue(f"worker.{bob}.commands", passive=True)
            await queue.consume(_ignore)

        async def bind_own_queue_to_bobs_key(channel):
            queue = await channel.declare_queue(f"worker.{alice}.commands", passive=True)
            await queue.bind(topology.WORKER_DOWNLINK, routing_key=bob)

        async def send_a_command_to_bob(channel):
            downlink = await channel.get_exchange(topology.WORKER_DOWNLINK, ensure=False)
            await downlink.publish(aio_pika.Message(b"{}", user_id=f"worker.{alice}"), routing_key=bob)

        async def publish_a_domain_event(channel):
            events = await channel.get_exchange(topology.EVENTS, ensure=False)
            await events.publish(aio_pika.Message(b"{}", user_id=f"worker.{alice}"), routing_key="worker.online")

        async def publish_off_protocol_routing_key(channel):
            uplink = await channel.get_exchange(topology.WORKER_UPLINK, ensure=False)
            await uplink.publish(aio_pika.Message(b"{}", user_id=f"worker.{alice}"), routing_key="session.create")

        async def declare_a_queue(channel):
            await channel.declare_queue(f"worker.{alice}.spare", durable=True)

        for attempt in (read_bobs_queue, bind_own_queue_to_bobs_key, send_a_command_to_bob, publish_a_domain_event,
                        publish_off_protocol_routing_key, declare_a_queue):
            assert isinstance(await refused(attempt), ChannelAccessRefused), attempt.__name__
    finally:
        await connection.close()


async def test_revoked_credentials_no_longer_connect(amqp_url):
    alice, _ = ids()
    api = Management.from_amqp_url(amqp_url)
    user, password = credentials.create(api, alice)
    url = credentials.worker_amqp_url(amqp_url, user, password)
    assert quote(user, safe="") in url and "guest" not in url
    await (await aio_pika.connect(url)).close()
    credentials.revoke(api, alice)
    with pytest.raises(aio_pika.exceptions.AMQPConnectionError):  # refused: the user is gone
        await aio_pika.connect(url)


async def test_a_deployment_provisions_the_user_from_the_url_the_worker_reads(amqp_url, monkeypatch, capsys):
    """The compose file and the Kubernetes dev overlay: the worker's Secret holds its URL; the tool
    makes the user with that password (idempotently) and prints nothing secret."""
    alice, bob = ids()
    url = credentials.worker_amqp_url(amqp_url, f"worker.{alice}", "a-password-from-the-secret")
    monkeypatch.setenv("AMQP_URL", amqp_url)
    monkeypatch.setenv("WORKER_AMQP_URL", url)
    try:
        for _ in range(2):  # a restarted job changes nothing
            assert credentials.main(["create", alice]) == 0
        assert "a-password-from-the-secret" not in capsys.readouterr().out
        await (await aio_pika.connect(url)).close()
        with pytest.raises(SystemExit):  # the URL names another worker's user
            credentials.main(["create", bob])
    finally:
        credentials.revoke(Management.from_amqp_url(amqp_url), alice)
