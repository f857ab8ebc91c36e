"""Test doubles shared by the workers' tests (the simulator's and the WhatsApp worker's): an in-memory
uplink recording what a worker's sessions report (the protocol's place in unit tests), and, for the
integration tests, a private RabbitMQ vhost and a stand-in for the platform's side of the broker.
Each worker's conftest imports the fixtures it uses from here."""

import asyncio
import secrets
import urllib.error
from urllib.parse import quote

import pytest
from harness.infra import management as rabbitmq_management
import pytest_asyncio
from wagw_common import topology
from wagw_common.broker import Broker
from wagw_common.envelope import Envelope, parse_envelope
from wagw_common.logging import correlation_scope


class FakeUplink:
    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self.changed = asyncio.Event()
        self.reports_lost = 0  # the next this many message reports raise, as when the broker goes away
        self.wa_message_ids: list[str | None] = []  # of every message report tried, lost ones included

    def _record(self, *item) -> None:
        self.sent.append(item)
        self.changed.set()

    async def session_status(self, session_id, status, *, reason=None, phone=None):
        self._record("status", session_id, status, reason, phone)

    async def session_qr(self, session_id, qr, expires_at):
        self._record("qr", session_id, qr, expires_at)

    async def session_pairing_code(self, session_id, code, expires_at):
        self._record("pairing_code", session_id, code, expires_at)

    async def message_status(self, session_id, message_id, status, *, reason=None, wa_message_id=None):
        self.wa_message_ids.append(wa_message_id)
        if self.reports_lost:
            self.reports_lost -= 1
            raise ConnectionError("broker not connected")
        self._record("message", session_id, message_id, status, reason)

    async def inbound(self, session_id, *, wa_message_id, chat, sender, text, type="text", **content):
        self._record("inbound", session_id, wa_message_id, chat, sender, text, {"type": type, **content})

    async def message_edited(self, session_id, *, text, wa_message_id=None, message_id=None):
        self._record("edited", session_id, wa_message_id or message_id, text)

    async def message_deleted(self, session_id, *, wa_message_id=None, message_id=None):
        self._record("deleted", session_id, wa_message_id or message_id)

    def kinds(self) -> list[str]:
        """What was reported, compactly: 'status:CONNECTING', 'qr', 'message:sent', 'inbound'."""
        return [f"{k}:{rest[1]}" if k == "status" else f"{k}:{rest[2]}" if k == "message" else k
                for k, *rest in self.sent]

    async def wait_for(self, count: int, timeout: float = 2.0) -> None:
        async def enough():
            while len(self.sent) < count:
                self.changed.clear()
                await self.changed.wait()
        async with asyncio.timeout(timeout):
            await enough()


@pytest.fixture
def uplink() -> FakeUplink:
    return FakeUplink()


@pytest.fixture
def management():
    """The RabbitMQ management API: management(method, path, body=None) -> the JSON answer."""
    return rabbitmq_management


@pytest.fixture
def vhost():
    name = f"wagw-test-simulator-{secrets.token_hex(4)}"
    rabbitmq_management("PUT", f"/vhosts/{quote(name, safe='')}")
    rabbitmq_management("PUT", f"/permissions/{quote(name, safe='')}/guest", {"configure": ".*", "write": ".*",
                                                                              "read": ".*"})
    yield name
    try:
        rabbitmq_management("DELETE", f"/vhosts/{quote(name, safe='')}")
    except urllib.error.HTTPError as exc:
        if exc.code != 404:  # a test may have removed it already
            raise


@pytest.fixture
def amqp_url(vhost):
    # A dropped connection is retried after half a second rather than aio-pika's default five.
    return f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}?reconnect_interval=0.5"


class Platform:
    """Plays the platform's side: sends worker commands, watches everything workers publish."""

    def __init__(self, amqp_url: str):
        self.broker = Broker(amqp_url, source="test/platform")
        self.uplink: asyncio.Queue[Envelope] = asyncio.Queue()

    async def start(self, *, listen: bool = True) -> None:
        await self.broker.connect(10)
        if listen:
            await self.listen()

    async def listen(self) -> None:
        channel = await self.broker.channel(prefetch=100)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(topology.WORKER_UPLINK, routing_key="#")
        await queue.consume(self._on_uplink, no_ack=True)

    async def _on_uplink(self, message) -> None:
        self.uplink.put_nowait(parse_envelope(message.body))

    async def next(self, message_type: str, timeout: float = 10, **match) -> dict:
        return (await self.next_envelope(message_type, timeout, **match)).data

    async def next_envelope(self, message_type: str, timeout: float = 10, **match) -> Envelope:
        async def wait():
            while True:
                envelope = await self.uplink.get()
                if envelope.type == message_type and all(envelope.data.get(k) == v for k, v in match.items()):
                    return envelope
        async with asyncio.timeout(timeout):
            return await wait()

    async def answer(self, registration: Envelope, sessions: list[dict] | None = None) -> None:
        """The registry's answer to a registration: it carries the registration's correlation id."""
        with correlation_scope(registration.correlation_id):
            await self.broker.send_to_worker(registration.data["worker_id"], "worker.sessions.assigned",
                                             {"reason": "registered", "sessions": sessions or []})


@pytest_asyncio.fixture
async def platform(amqp_url):
    platform = Platform(amqp_url)
    await platform.start(listen=False)
    yield platform
    await platform.broker.close()
