"""The simulator against the local RabbitMQ (its own vhost per test): commands in through its own
queue, reports out on the uplink, the control API in between, a dropped connection survived."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import quote

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from harness.flows import wait_until
from wagw_common import topology
from wagw_common.envelope import Envelope, parse_envelope
from wagw_worker_sdk import Worker, WorkerIdentity

from wagw_worker_simulator.control import create_control_app
from wagw_worker_simulator.whatsapp import SimulatedWhatsApp, Timing

pytestmark = [pytest.mark.integration, pytest.mark.asyncio, pytest.mark.timeout(60)]

@pytest_asyncio.fixture
async def worker(amqp_url):
    worker_id = f"it-sim-{secrets.token_hex(3)}"
    protocol = Worker(WorkerIdentity(worker_id, max_sessions=3, version="test"), amqp_url=amqp_url,
                      heartbeat_interval=0.3, startup_timeout=10)
    whatsapp = SimulatedWhatsApp(protocol.uplink, Timing(qr_refresh=60, status_delay=0.01))
    yield protocol, whatsapp
    await whatsapp.close()
    if protocol.link.connection is not None and not protocol.link.connection.is_closed:
        await protocol.stop("test over")


async def test_a_session_goes_from_qr_to_scan_to_messages_through_the_real_broker(platform, worker):
    protocol, whatsapp = worker
    await platform.listen()
    await protocol.start(whatsapp)
    registration = await platform.next_envelope("worker.register")
    registered = registration.data
    assert registered["worker_id"] == protocol.worker_id and registered["capacity"]["max_sessions"] == 3
    await platform.answer(registration)

    await platform.broker.send_to_worker(protocol.worker_id, "worker.session.start", {"session_id": "s_1"})
    assert (await platform.next("worker.session.status", session_id="s_1"))["status"] == "CONNECTING"
    qr = await platform.next("worker.session.qr", session_id="s_1")
    assert qr["qr"].startswith("2@") and qr["worker_id"] == protocol.worker_id
    await platform.next("worker.session.status", session_id="s_1", status="QR_REQUIRED")

    async with TestClient(TestServer(create_control_app(whatsapp, protocol))) as control:
        assert (await control.post("/sessions/s_1/scan")).status == 200
        connected = await platform.next("worker.session.status", session_id="s_1", status="CONNECTED")
        assert connected["phone"]
        beat = await platform.next("worker.heartbeat")
        assert beat["sessions"] == [{"session_id": "s_1", "status": "CONNECTED"}]

        await platform.broker.send_to_worker(protocol.worker_id, "worker.message.send", {
            "session_id": "s_1", "message_id": "m_1", "to": "628123456789@s.whatsapp.net", "type": "text",
            "text": "hi"})
        for status in ("sent", "delivered", "read"):
            await platform.next("worker.message.status", message_id="m_1", status=status)
        assert (await control.post("/sessions/s_1/inbound", json={"text": "hello back"})).status == 202
        assert (await platform.next("worker.message.inbound", session_id="s_1"))["text"] == "hello back"

    await platform.broker.send_to_worker(protocol.worker_id, "worker.session.stop",
                                         {"session_id": "s_1", "logout": True})
    await platform.next("worker.session.status", session_id="s_1", status="LOGGED_OUT")
    await protocol.stop("shutdown")
    assert (await platform.next("worker.unregister"))["reason"] == "shutdown"


async def test_sends_found_before_the_registry_answered_are_bounced_and_sent_once_routed_again(platform, worker):
    protocol, whatsapp = worker
    await platform.listen()
    await protocol.start(whatsapp)
    registration = await platform.next_envelope("worker.register")
    await platform.broker.send_to_worker(protocol.worker_id, "worker.session.start", {"session_id": "s_1",
                                                                                      "restore": True})
    await platform.next("worker.session.status", session_id="s_1", status="CONNECTED")
    send = {"session_id": "s_1", "to": "628123456789@s.whatsapp.net", "type": "text", "text": "hi"}

    # Queued before the registry answered: perhaps from before the session moved elsewhere, not sent.
    await platform.broker.send_to_worker(protocol.worker_id, "worker.message.send", {**send, "message_id": "m_1"})
    bounced = await platform.next("worker.message.bounced", message_id="m_1")
    assert (bounced["session_id"], bounced["reason"]) == ("s_1", "starting")
    # Routed again by the platform, which knows where the session is now: sent, even before the answer.
    await platform.broker.send_to_worker(protocol.worker_id, "worker.message.send",
                                         {**send, "message_id": "m_1", "rerouted": True})
    await platform.next("worker.message.status", message_id="m_1", status="sent")
    # Once the registry answered, sends go out as they come.
    await platform.answer(registration, [{"session_id": "s_1", "as_of": registration.time}])
    await platform.broker.send_to_worker(protocol.worker_id, "worker.message.send", {**send, "message_id": "m_2"})
    await platform.next("worker.message.status", message_id="m_2", status="sent")
    assert protocol.unsure is None


async def test_a_malformed_command_goes_to_the_workers_dead_letter_queue(platform, worker, vhost):
    protocol, whatsapp = worker
    await platform.listen()
    await protocol.start(whatsapp)
    bad = Envelope(type="worker.session.start", source="test", data={"session_id": "no spaces allowed"})
    await platform.broker.publish(bad, exchange=topology.WORKER_DOWNLINK, routing_key=protocol.worker_id)
    dead_letter = topology.worker_command_queue(protocol.worker_id).dead_letter_name
    channel = await platform.broker.channel(prefetch=1)
    queue = await channel.declare_queue(dead_letter, passive=True)
    for _ in range(50):
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            assert parse_envelope(message.body).id == bad.id
            return
        await asyncio.sleep(0.1)
    pytest.fail("the malformed command never reached the dead-letter queue")


async def test_a_worker_registers_once_someone_listens_and_again_after_a_dropped_connection(platform, worker, vhost,
                                                                                          management):
    protocol, whatsapp = worker
    await protocol.start(whatsapp)  # nobody consumes registrations yet: unroutable
    assert not protocol.registered
    await platform.listen()
    assert (await platform.next("worker.register"))["worker_id"] == protocol.worker_id
    # The broker may hand the message to the listener before the worker has read its confirm.
    await wait_until(lambda: _true_soon(protocol.registered), timeout=5)

    connections = []
    for _ in range(50):  # the management API lists a connection shortly after it opens
        connections = [c["name"] for c in management("GET", f"/vhosts/{quote(vhost, safe='')}/connections")
                       if c.get("client_properties", {}).get("connection_name") == f"worker/{protocol.worker_id}"]
        if connections:
            break
        await asyncio.sleep(0.2)
    assert connections, "the worker's connection is not listed"
    management("DELETE", f"/connections/{quote(connections[0], safe='')}")
    assert (await platform.next("worker.register", timeout=15))["worker_id"] == protocol.worker_id
    await platform.next("worker.heartbeat")  # and it keeps beating on the new connection


async def test_a_graceful_stop_finishes_even_with_the_broker_gone(platform, worker, vhost, management):
    protocol, whatsapp = worker
    await platform.listen()
    await protocol.start(whatsapp)
    await platform.next("worker.register")
    management("DELETE", f"/vhosts/{quote(vhost, safe='')}")  # as far as this worker knows, the broker is down
    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(15):
        await protocol.stop("shutdown")
    assert asyncio.get_running_loop().time() - started < 12


async def _true_soon(value: bool) -> bool:
    return value
