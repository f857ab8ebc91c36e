"""The orchestrator as it runs, minus the network: its router served by the real consumers on the
in-memory broker (contract validation, request/reply, ordering, the worker guard), its real stores
on a database of its own on the local MongoDB-compatible server (the compare-and-set guards under
test are the stores' own), Redis's key/value commands in memory, and the registry's answers scripted."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from wagw_common import topology
from wagw_common.contracts.workers import broker_user_for, source_for
from wagw_common.outbox import OutboxRelay
from wagw_common.testing import InMemoryBroker, MemoryRedis, ScriptedRpc, serve
from wagw_common.worker_speakers import UplinkSpeakers
from wagw_session_orchestrator.deps import Deps
from wagw_session_orchestrator.known_messages import KnownMessages
from wagw_session_orchestrator.messages_store import MessagesStore
from wagw_session_orchestrator.pacing_slots import PacingSlots
from wagw_session_orchestrator.router import router
from wagw_session_orchestrator.routing import SessionRoutes
from wagw_session_orchestrator.sessions_store import SessionsStore

MONGODB_URI = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/")
TENANT = "u_tenant"


@pytest_asyncio.fixture
async def db():
    client = AsyncMongoClient(MONGODB_URI, tz_aware=True, serverSelectionTimeoutMS=2000)
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        await client.close()
        pytest.skip(f"no MongoDB-compatible server at {MONGODB_URI} (scripts/infra.sh start): {exc}")
    name = f"test_orchestrator_{secrets.token_hex(6)}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@pytest.fixture
def broker():
    return InMemoryBroker(source="session-orchestrator")


@pytest.fixture
def registry():
    """The registry's side of `worker.select`: worker-1 unless a test scripts otherwise."""
    return ScriptedRpc({"worker.select": {"worker_id": "worker-1"}})


@pytest.fixture
def send_queue_limit() -> int:
    """A test that needs another limit parametrizes this name."""
    return 10


@pytest_asyncio.fixture
async def deps(db, broker, registry, send_queue_limit) -> Deps:
    sessions, messages, pacing = SessionsStore(db), MessagesStore(db), PacingSlots(db)
    await sessions.ensure_indexes()
    await messages.ensure_indexes()
    await pacing.ensure_indexes()
    return Deps(sessions=sessions, messages=messages, session_relay=OutboxRelay(sessions.collection, broker),
                message_relay=OutboxRelay(messages.collection, broker, lazy_clears=True), broker=broker, rpc=registry,
                routes=SessionRoutes(MemoryRedis(), sessions, ttl_seconds=60), speakers=UplinkSpeakers(frozenset()),
                known=KnownMessages(), pacing=pacing, send_queue_limit=send_queue_limit)


class Platform:
    """Speaks to the orchestrator as the rest of the platform does: the gateway's commands and reads
    (request/reply) and sends (on their session's shard), workers' reports on the uplink under their
    own broker users, the registry's fleet events. What it publishes is read back from the broker."""

    def __init__(self, broker: InMemoryBroker, rpc, deps: Deps):
        self.broker, self.rpc, self.deps = broker, rpc, deps

    async def ask(self, request_type: str, **data: Any) -> Any:
        return await self.rpc.call(request_type, data)

    async def send(self, session_id: str, message_id: str, *, tenant_id: str = TENANT, **data: Any) -> None:
        body = {"tenant_id": tenant_id, "session_id": session_id, "message_id": message_id, "to": "628111222333",
                "type": "text", "text": "Hi", **data}
        await self.broker.send_command("message.send", body, routing_key=topology.send_routing_key(session_id))
        await self.broker.settled()

    async def report(self, worker_id: str, report_type: str, **data: Any) -> None:
        """A worker's report under its own broker user: its body names itself, or the guard refuses it."""
        worker = self.broker.speaking_as(source=source_for(worker_id), user_id=broker_user_for(worker_id))
        envelope = worker.envelope(report_type, {"worker_id": worker_id, **data})
        await worker.publish(envelope, exchange=topology.WORKER_UPLINK, routing_key=report_type)
        await self.broker.settled()

    async def fleet(self, event_type: str, **data: Any) -> None:
        await self.broker.speaking_as(source="worker-registry", user_id=None).publish_event(event_type, data)
        await self.broker.settled()

    def to_worker(self, worker_id: str, command_type: str | None = None) -> list[dict[str, Any]]:
        return [e.data for e in self.broker.to_worker(worker_id) if command_type in (None, e.type)]

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        return [e.data for e in self.broker.events(event_type)]

    def event_types(self) -> list[str]:
        return [e.type for e in self.broker.events()]

    async def session(self, session_id: str) -> dict[str, Any] | None:
        return await self.deps.sessions.get(session_id)

    async def message(self, message_id: str) -> dict[str, Any] | None:
        return await self.deps.messages.get(message_id)

    async def change_message(self, message_id: str, **fields: Any) -> None:
        """What another replica or an earlier step left in the store (set directly, as a test's given)."""
        await self.deps.messages.collection.update_one({"_id": message_id}, {"$set": fields})

    async def change_session(self, session_id: str, **fields: Any) -> None:
        await self.deps.sessions.collection.update_one({"_id": session_id}, {"$set": fields})

    # -- the usual first steps -------------------------------------------------------------------
    async def create(self, *, tenant_id: str = TENANT, limit: int = 5) -> str:
        view = await self.ask("session.create", tenant_id=tenant_id, name="Support", description="",
                              session_limit=limit)
        return view["session_id"]

    async def connected(self, worker_id: str = "worker-1", *, tenant_id: str = TENANT) -> str:
        """A session created, connected on `worker_id` (the registry's next choice), reported CONNECTED."""
        session_id = await self.create(tenant_id=tenant_id)
        self.deps.rpc.replies["worker.select"] = {"worker_id": worker_id}
        await self.ask("session.connect", tenant_id=tenant_id, session_id=session_id)
        await self.status(session_id, "CONNECTED", worker_id=worker_id, phone="628123456789")
        return session_id

    async def status(self, session_id: str, status: str, *, worker_id: str = "worker-1", phone: str | None = None,
                     reason: str | None = None) -> None:
        await self.report(worker_id, "worker.session.status", session_id=session_id, status=status, reason=reason,
                          phone=phone)


# Workers whose command queues exist (a worker's queue is declared when it registers); any other
# worker's commands are unroutable, as a worker that left.
WORKERS = ("worker-1", "worker-2", "worker-3", "worker-9")


@pytest_asyncio.fixture
async def platform(deps, broker):
    for worker_id in WORKERS:
        broker.hold_for_worker(worker_id)
    async with serve(router, deps, broker) as rpc:
        yield Platform(broker, rpc, deps)
