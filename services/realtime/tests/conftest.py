"""Realtime replicas in-process on real ports, against a private RabbitMQ vhost per test; and, for the
unit tests, stand-ins for what lies outside the Socket.IO handlers (the server, the quota) and the
shared scripted answers of the other services (wagw_common.testing.ScriptedRpc)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from types import SimpleNamespace
from typing import Iterator

import pytest
from aiohttp.test_utils import TestServer

from harness.infra import create_vhost, delete_vhost, redis_database
from harness.realtime import RealtimeListener
from wagw_common import topology
from wagw_common.broker import Broker
from wagw_common.consumer import Consumer, Subscription
from wagw_common.contracts import contract_for
from wagw_common.contracts.identity import api_key_digest
from wagw_common.errors import NotFound
from wagw_common.settings import load
from wagw_common.queue_bindings import QueueBindings
from wagw_common.testing import InMemoryBroker, ScriptedRpc
from wagw_common.tokens import Principal, issue_access_token
from wagw_common.topology import QueueSpec
from wagw_realtime.app import create_app
from wagw_realtime.client_bindings import ClientBindings
from wagw_realtime.connections import Edge
from wagw_realtime.router import events as events_queue
from wagw_realtime.settings import Settings


# What the stand-ins know: u_alice owns SESSION_ID (a QR pending, sequence 5); KEY is its session key.
SESSION_ID = "s_realtime"
KEY = "wagw_sk_integration"


@pytest.fixture
async def vhost():
    vhost = await create_vhost("wagw-test-realtime")
    yield vhost
    await delete_vhost(vhost)


@pytest.fixture
def environment(vhost) -> Iterator[dict]:
    with redis_database() as redis_url:
        yield {"AMQP_URL": vhost.amqp_url, "REDIS_URL": redis_url, "STARTUP_TIMEOUT_SECONDS": "10",
               "RPC_TIMEOUT_SECONDS": "3"}


@pytest.fixture
def settings(environment) -> Settings:
    return load(Settings, environment)


@pytest.fixture
async def start_replica(environment, stand_ins):
    """Starts realtime replicas (each a full app on its own port, `env` on top of the test's settings),
    with the other services' answers they ask for; returns their base URLs."""
    servers = []

    async def start(**env: str) -> str:
        server = TestServer(create_app(load(Settings, {**environment, **env})))
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in reversed(servers):
        await server.close()


@pytest.fixture
async def broker(vhost):
    broker = Broker(vhost.amqp_url, source="test-client")
    await broker.connect(startup_timeout=10)
    yield broker
    await broker.close()


@pytest.fixture
def token_for(settings):
    def issue(user_id: str, role: str = "user", ttl: timedelta = timedelta(minutes=5)) -> str:
        return issue_access_token(Principal(user_id, role, "BASIC"), secret=settings.jwt_secret,
                                  issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl=ttl)

    return issue


@pytest.fixture
async def listeners():
    """Socket.IO clients; by default they start on long-polling and upgrade, as browsers do."""
    opened = []

    async def connect(url: str, token: str | None = None, *, auth: dict | None = None, **kwargs) -> RealtimeListener:
        listener = RealtimeListener(url, token)
        await listener.client.connect(url, auth=auth or {"token": token}, wait_timeout=10, **kwargs)
        opened.append(listener)
        return listener

    yield connect
    for listener in opened:
        await listener.close()


@pytest.fixture
async def stand_ins(broker):
    """The orchestrator's `session.get` (u_alice owns SESSION_ID, with a pending QR) and the gateway's
    `apikey.resolve` (KEY is a session key of SESSION_ID) and `account.standing` (every account stands)."""
    get, resolve = contract_for("session.get"), contract_for("apikey.resolve")

    async def session_get(envelope):
        if envelope.data["tenant_id"] != "u_alice" or envelope.data["session_id"] != SESSION_ID:
            raise NotFound("no such session")
        return get.reply().load({**get.reply_example, "session_id": SESSION_ID, "tenant_id": "u_alice",
                                 "status": "QR_REQUIRED", "qr": "2@pending-qr", "sequence": 5,
                                 "qr_expires_at": "2030-01-01T00:00:00Z"})

    async def apikey_resolve(envelope):
        if envelope.data["key_hash"] != api_key_digest(KEY):
            raise NotFound("unknown or revoked API key")
        return resolve.reply().load({"key_id": "k_1", "tenant_id": "u_alice", "session_id": SESSION_ID,
                                     "scopes": ["*"]})

    async def account_standing(envelope):
        return standing_account(envelope.data)

    queue = QueueSpec("test.stand-ins", tuple((topology.COMMANDS, key) for key in
                                              ("session.get", "apikey.resolve", "account.standing")))
    consumer = Consumer(broker, Subscription(queue, {"session.get": session_get, "apikey.resolve": apikey_resolve,
                                                     "account.standing": account_standing}),
                        prefetch=8, max_attempts=3)
    await consumer.start()
    yield
    await consumer.stop()


# --- fakes for the unit tests ---------------------------------------------------------------

UNIT_SETTINGS = load(Settings, {"REALTIME_SUBSCRIBE_RATE_PER_MINUTE": "60", "REALTIME_MAX_SUBSCRIPTIONS": "3"})


def fake_token(user_id="u_7", role="user", ttl=timedelta(minutes=5), secret=UNIT_SETTINGS.jwt_secret):
    return issue_access_token(Principal(user_id, role, "BASIC"), secret=secret, issuer=UNIT_SETTINGS.jwt_issuer,
                              audience=UNIT_SETTINGS.jwt_audience, ttl=ttl)


class FakeManager:
    def __init__(self):
        self.connected = set()
        self.closed_rooms = []

    def is_connected(self, sid, namespace):
        return sid in self.connected

    async def close_room_here(self, room):
        self.closed_rooms.append(room)


class FakeServer:
    def __init__(self):
        self.rooms = defaultdict(set)  # sid -> rooms
        self.emitted, self.disconnected = [], []
        self.manager = FakeManager()

    async def enter_room(self, sid, room):
        self.rooms[sid].add(room)

    async def leave_room(self, sid, room):
        self.rooms[sid].discard(room)

    async def emit(self, event, data, to, ignore_queue=False):
        self.emitted.append((event, data, to))

    async def disconnect(self, sid, ignore_queue=False):
        self.disconnected.append(sid)

    def events(self, name):
        return [data for event, data, _ in self.emitted if event == name]


def standing_account(data):
    """The gateway's `account.standing` for an account that is active, its password never changed."""
    return {"user_id": data["user_id"], "active": True, "token_generation": 0}


def scripted_rpc(**answers) -> ScriptedRpc:
    """The other services' answers (`session_get=` for `session.get`); accounts stand unless told."""
    return ScriptedRpc({"account.standing": standing_account, **{k.replace("_", "."): v for k, v in answers.items()}})


class FakeQuota:
    def __init__(self, admit=True):
        self.allow, self.admitted, self.released, self.ttl = admit, [], [], 90

    async def admit(self, owner, member):
        if self.allow:
            self.admitted.append((owner, member))
        return self.allow

    async def release(self, owner, member):
        self.released.append((owner, member))

    async def renew(self, members):
        list(members)


UNIT_REPLICA = "unit"


def edge(rpc=None, quota=None, settings=UNIT_SETTINGS, broker=None) -> Edge:
    """`broker`: the in-memory one the replica's queue is bound on (its `bindings` show what is bound)."""
    bindings = ClientBindings(QueueBindings.of(broker or InMemoryBroker(source="test"), events_queue, UNIT_REPLICA))
    return Edge(sio=FakeServer(), settings=settings, rpc=rpc or scripted_rpc(), quota=quota or FakeQuota(),
                bindings=bindings)


@pytest.fixture
def fakes():
    return SimpleNamespace(settings=UNIT_SETTINGS, token=fake_token, Server=FakeServer, Rpc=scripted_rpc,
                           Quota=FakeQuota, edge=edge, replica=UNIT_REPLICA)
