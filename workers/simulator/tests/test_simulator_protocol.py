"""The worker side of the protocol without a broker: what it publishes, and how it treats commands."""

from dataclasses import dataclass

import pytest
from wagw_common import topology
from wagw_common.envelope import Envelope, MalformedMessage

from wagw_worker_simulator.protocol import WorkerIdentity, WorkerProtocol
from wagw_worker_simulator.whatsapp import SimulatedWhatsApp, Timing

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]


@dataclass
class FakeMessage:
    body: bytes
    redelivered: bool = False
    type: str | None = None
    outcome: str | None = None

    async def ack(self):
        self.outcome = "ack"

    async def reject(self, requeue: bool = False):
        self.outcome = "requeued" if requeue else "rejected"


@pytest.fixture
def protocol(monkeypatch):
    protocol = WorkerProtocol(WorkerIdentity("sim-worker-1", max_sessions=5, version="1.0"),
                              amqp_url="amqp://unused/", heartbeat_interval=10)
    protocol.published = []

    async def publish(envelope, *, exchange, routing_key, **_):
        protocol.published.append((exchange, routing_key, envelope))

    monkeypatch.setattr(protocol.broker, "publish", publish)
    return protocol


def command(message_type: str, data: dict) -> FakeMessage:
    return FakeMessage(Envelope(type=message_type, source="test", data=data).to_json())


async def test_every_uplink_goes_to_the_uplink_exchange_under_its_type_with_the_worker_id(protocol):
    await protocol.register()
    await protocol.uplink.session_status("s_1", "CONNECTED", phone="628123")
    [(exchange, key, register), (_, _, status)] = protocol.published
    assert (exchange, key, register.type, register.source) == (topology.WORKER_UPLINK, "worker.register",
                                                               "worker.register", "worker/sim-worker-1")
    assert register.data == {"worker_id": "sim-worker-1", "version": "1.0", "capacity": {"max_sessions": 5},
                             "environment": "development", "endpoint": None}
    assert status.data["worker_id"] == "sim-worker-1" and status.subject == "s_1"
    assert protocol.registered


async def test_an_uplink_breaking_its_contract_is_never_sent(protocol):
    with pytest.raises(MalformedMessage):
        await protocol.uplink.session_status("s_1", "HAPPY")
    assert protocol.published == []


async def test_a_heartbeat_lists_the_held_sessions_and_the_process_usage(protocol):
    whatsapp = SimulatedWhatsApp(protocol.uplink, Timing(status_delay=0))
    protocol.bind(whatsapp)
    await whatsapp.start_session("s_1", restore=True)
    await protocol.heartbeat()
    beat = protocol.published[-1][2]
    assert beat.type == "worker.heartbeat"
    assert beat.data["sessions"] == [{"session_id": "s_1", "status": "CONNECTED"}]
    assert beat.data["memory_mb"] > 0 and beat.data["cpu_percent"] >= 0


async def test_a_valid_command_reaches_the_worker_and_is_acknowledged(protocol):
    protocol.bind(SimulatedWhatsApp(protocol.uplink))
    message = command("worker.session.start", {"session_id": "s_1", "restore": True})
    await protocol.handle_command(message)
    assert message.outcome == "ack"
    assert [e.data["status"] for _, _, e in protocol.published] == ["CONNECTING", "CONNECTED"]


@pytest.mark.parametrize("message", [
    FakeMessage(b"not json"),
    command("worker.session.start", {"session_id": "not a valid id!"}),
    command("worker.session.start", {"session_id": "s_1", "surprise": 1}),
    command("worker.heartbeat", {"worker_id": "w", "sessions": []}),  # an uplink type is not a command
    command("session.create", {"tenant_id": "u_1", "name": "x", "session_limit": 1}),
])
async def test_a_malformed_command_is_rejected_without_requeue(protocol, message):
    protocol.bind(SimulatedWhatsApp(protocol.uplink))
    await protocol.handle_command(message)
    assert message.outcome == "rejected" and protocol.published == []


async def test_a_failing_command_is_retried_once_then_dead_lettered(protocol):
    class Broken(SimulatedWhatsApp):
        async def stop_session(self, session_id, *, logout):
            raise RuntimeError("boom")

    protocol.bind(Broken(protocol.uplink))
    first = command("worker.session.stop", {"session_id": "s_1"})
    await protocol.handle_command(first)
    again = command("worker.session.stop", {"session_id": "s_1"})
    again.redelivered = True
    await protocol.handle_command(again)
    assert (first.outcome, again.outcome) == ("requeued", "rejected")
