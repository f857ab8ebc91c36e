"""Fakes of what lies outside the orchestrator (broker, registry, Redis) and in-memory stores with the
same interface as the MongoDB ones (which test_stores_real.py runs against the real server)."""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from wagw_common.broker import Broker
from wagw_session_orchestrator.lifecycle import DELETED, MESSAGE_PREDECESSORS
from wagw_session_orchestrator.routing import SessionRoutes


class RecordingBroker(Broker):
    """The real envelope building and contract validation; publishing only records."""

    def __init__(self, *, unroutable_workers: set[str] = frozenset()):
        super().__init__("amqp://unused", source="session-orchestrator-test")
        self.sent: list[tuple[str, str, Any]] = []
        self.unroutable_workers = set(unroutable_workers)

    async def publish(self, envelope, *, exchange, routing_key, **_kwargs):
        if routing_key in self.unroutable_workers:
            from aio_pika.exceptions import PublishError

            raise PublishError("NO_ROUTE", None)
        self.sent.append((exchange, routing_key, envelope))

    def to_worker(self, worker_id: str) -> list[Any]:
        return [envelope for exchange, key, envelope in self.sent if exchange == "wagw.worker-downlink" and key == worker_id]


class RecordingRelay:
    def __init__(self):
        self.flushed: list[dict[str, Any]] = []

    async def flush(self, document_id, entries):
        self.flushed.extend(entries)

    def types(self) -> list[str]:
        return [entry["type"] for entry in self.flushed]

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [entry["data"] for entry in self.flushed if entry["type"] == event_type]


class FakeRedis:
    def __init__(self):
        self.values: dict[str, str] = {}

    async def get(self, key):
        return self.values.get(key)

    async def set(self, key, value, ex=None):
        self.values[key] = value

    async def delete(self, key):
        self.values.pop(key, None)


class InMemorySessions:
    def __init__(self):
        self.docs: dict[str, dict] = {}
        self.counts: dict[str, int] = {}

    async def reserve_slot(self, tenant_id, limit):
        if self.counts.get(tenant_id, 0) >= limit:
            return False
        self.counts[tenant_id] = self.counts.get(tenant_id, 0) + 1
        return True

    async def release_slot(self, tenant_id):
        self.counts[tenant_id] -= 1

    async def record_status(self, session):
        self.recorded = [*getattr(self, "recorded", []), (session["_id"], session["status"])]

    async def insert(self, session):
        self.docs[session["_id"]] = {k: v for k, v in session.items() if k != "outbox"}

    async def get(self, session_id):
        doc = self.docs.get(session_id)
        return dict(doc) if doc else None

    async def get_for_tenant(self, tenant_id, session_id):
        doc = await self.get(session_id)
        return doc if doc and doc["tenant_id"] == tenant_id and doc["status"] != DELETED else None

    async def list_for_tenant(self, tenant_id):
        return [dict(d) for d in self.docs.values() if d["tenant_id"] == tenant_id]

    async def worker_of(self, session_id):
        return (self.docs.get(session_id) or {}).get("worker_id")

    async def claim_slot_release(self, session_id):
        doc = self.docs.get(session_id)
        if doc is None or doc["status"] != DELETED or doc.get("slot_released"):
            return False
        doc["slot_released"] = True
        return True

    async def live_on_worker(self, worker_id):
        return [dict(d) for d in self.docs.values()
                if d.get("worker_id") == worker_id or (d.get("moved_from") == worker_id and d["status"] == "RECONNECTING")]

    async def waiting_for_a_worker(self):
        return [dict(d) for d in self.docs.values() if d["status"] == "RECONNECTING" and d.get("worker_id") is None]

    async def apply(self, seen, fields, entries):
        doc = self.docs.get(seen["_id"])
        if doc is None or doc["sequence"] != seen["sequence"] or doc["status"] != seen["status"]:
            return None
        doc.update(fields)
        doc["sequence"] += len(entries)
        return dict(doc)


class InMemoryMessages:
    def __init__(self):
        self.docs: dict[str, dict] = {}

    async def insert(self, message):
        if message["_id"] in self.docs:
            return False
        self.docs[message["_id"]] = {k: v for k, v in message.items() if k != "outbox"}
        return True

    async def get(self, message_id):
        doc = self.docs.get(message_id)
        return dict(doc) if doc else None

    async def get_for_tenant(self, tenant_id, message_id):
        doc = await self.get(message_id)
        return doc if doc and doc["tenant_id"] == tenant_id else None

    async def advance(self, message, status, step, entry, *, reported_by=None, wa_message_id=None):
        doc = self.docs.get(message["_id"])
        if doc is None or doc["status"] not in MESSAGE_PREDECESSORS[status]:
            return None
        if reported_by is not None and doc.get("routed_to") != reported_by:
            return None
        doc["status"] = status
        doc["timeline"] = [*doc["timeline"], step]
        if wa_message_id:
            doc["wa_message_id"] = wa_message_id
        return dict(doc)

    async def record_overtaken(self, message, step, entry, *, wa_message_id=None):
        doc = self.docs.get(message["_id"])
        if doc is None or doc["status"] != message["status"] or len(doc["timeline"]) != len(message["timeline"]):
            return None
        doc["timeline"] = [*doc["timeline"], step]
        return dict(doc)

    async def waiting_for(self, session_id, worker_id):
        found = [dict(d) for d in self.docs.values() if d["session_id"] == session_id and d["direction"] == "outbound"
                 and d["status"] == "queued" and d.get("routed_to") != worker_id]
        return sorted(found, key=lambda d: (d.get("order", 0), d["created_at"], d["_id"]))

    async def count_held(self, session_id):
        return sum(1 for d in self.docs.values() if d["session_id"] == session_id and d["direction"] == "outbound"
                   and d["status"] == "queued" and d.get("routed_to") is None)

    async def claim_route(self, message_id, worker_id, *, rerouted=False):
        doc = self.docs.get(message_id)
        if doc is None or doc["status"] != "queued" or doc.get("routed_to") == worker_id:
            return False
        doc.update(routed_to=worker_id, rerouted=rerouted)
        return True

    async def unroute(self, message_id, worker_id):
        doc = self.docs.get(message_id)
        if doc is None or doc["status"] != "queued" or doc.get("routed_to") != worker_id or doc.get("rerouted"):
            return False
        doc["routed_to"] = None
        return True

    async def recent_chats(self, tenant_id, session_id, *, limit, scan=2000):
        found = sorted((d for d in self.docs.values() if d["session_id"] == session_id and d["tenant_id"] == tenant_id),
                       key=lambda d: (d["created_at"], d["_id"]), reverse=True)[:scan]
        latest = {}
        for doc in found:
            latest.setdefault(doc["chat"], dict(doc))
        return list(latest.values())[:limit]

    async def unread_by_chat(self, session_id, chats):
        unread = {}
        for doc in self.docs.values():
            if doc["session_id"] == session_id and doc["direction"] == "inbound" and doc.get("read_at") is None \
                    and doc["chat"] in chats:
                unread[doc["chat"]] = unread.get(doc["chat"], 0) + 1
        return unread

    async def mark_chat_read(self, session_id, chat, at):
        marked = [d for d in self.docs.values() if d["session_id"] == session_id and d["chat"] == chat
                  and d["direction"] == "inbound" and d.get("read_at") is None]
        for doc in marked:
            doc["read_at"] = at
        return len(marked)

    async def find_by_wa_id(self, session_id, wa_message_id):
        found = [d for d in self.docs.values() if d["session_id"] == session_id and d.get("wa_message_id") == wa_message_id]
        return dict(found[0]) if found else None

    async def record_edit(self, message, text, at, entry):
        doc = self.docs.get(message["_id"])
        if doc is None or (doc.get("deleted_at") is not None and doc["deleted_at"] <= at) \
                or (doc.get("edited_at") is not None and doc["edited_at"] >= at):
            return None
        doc.update(text=text, edited_at=at)
        return dict(doc)

    async def mark_deleted(self, message, at, entry):
        doc = self.docs.get(message["_id"])
        if doc is None or doc.get("deleted_at") is not None:
            return None
        doc["deleted_at"] = at
        return dict(doc)

    async def delete_for_session(self, session_id):
        gone = [k for k, d in self.docs.items() if d["session_id"] == session_id]
        for key in gone:
            del self.docs[key]
        return len(gone)


@pytest.fixture
def broker():
    return RecordingBroker()


@pytest.fixture
def relay():
    return RecordingRelay()


@pytest.fixture
def sessions():
    return InMemorySessions()


@pytest.fixture
def messages():
    return InMemoryMessages()


@pytest.fixture
def routes(sessions):
    return SessionRoutes(FakeRedis(), sessions, ttl_seconds=60)


MONGODB_URI = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/")


@pytest_asyncio.fixture
async def db():
    """A fresh database on the real local MongoDB-compatible server, dropped afterwards."""
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
