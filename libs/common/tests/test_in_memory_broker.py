"""The in-memory broker runs a router's handlers through the real consumer: replies and domain
errors reach the asker, malformed data and exhausted retries are dead-lettered, duplicates skipped."""

from datetime import datetime, timezone

import pytest

from wagw_common import topology
from wagw_common.envelope import Envelope
from wagw_common.errors import NotFound, RemoteError
from wagw_common.router import Router
from wagw_common.testing import InMemoryBroker, serve
from wagw_common.testing.broker import topic_matches
from wagw_common.topology import QueueSpec

pytestmark = pytest.mark.unit

TENANT, SESSION = "u_c9f0f895fb98ab91", "s_8f14e45fceea167a"
NOW = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
QUERIES, EVENTS = QueueSpec("test.queries"), QueueSpec("test.events")


class Deps:
    def __init__(self):
        self.seen: list[str] = []
        self.failures = 0


async def get_session(envelope, deps):
    if envelope.data["session_id"] != SESSION:
        raise NotFound("no such session")
    return {"session_id": SESSION, "tenant_id": TENANT, "name": "Support line", "description": "",
            "status": "DISCONNECTED", "worker_id": None, "created_at": NOW, "updated_at": NOW}


async def record_created(envelope, deps):
    if deps.failures:
        deps.failures -= 1
        raise RuntimeError("the database blinked")
    deps.seen.append(envelope.data["session_id"])


def _router() -> Router:
    router = Router("test")
    router.queue(QUERIES).on("session.get", get_session)
    router.queue(EVENTS).on("session.created", record_created)
    return router


def _created(session_id=SESSION):
    return {"tenant_id": TENANT, "session_id": session_id, "name": "Support line", "status": "DISCONNECTED"}


@pytest.fixture(autouse=True)
def _test_queues(monkeypatch):
    monkeypatch.setitem(topology.SERVICE_QUEUES, "test", (QUERIES, EVENTS))


@pytest.mark.parametrize("pattern, key, matches", [
    ("session.*", "session.created", True), ("session.*", "session.status.changed", False),
    ("webhook.#", "webhook.endpoint.create", True), ("#", "a", True), ("worker.list", "worker.lists", False),
])
def test_topic_matching(pattern, key, matches):
    assert topic_matches(pattern, key) is matches


async def test_a_query_is_answered_through_the_real_consumer_and_rpc_client():
    broker, deps = InMemoryBroker(), Deps()
    async with serve(_router(), deps, broker) as rpc:
        reply = await rpc.call("session.get", {"tenant_id": TENANT, "session_id": SESSION})
        assert reply["session_id"] == SESSION
        with pytest.raises(RemoteError) as refused:
            await rpc.call("session.get", {"tenant_id": TENANT, "session_id": "s_0000000000000000"})
        assert refused.value.code == "not_found"
        # Data breaking the contract (the sender's own check bypassed): dead-lettered, never handled.
        await broker.publish(Envelope(type="session.get", source="test", data={"tenant_id": TENANT}),
                             exchange=topology.COMMANDS, routing_key="session.get")
    assert [e.data for e in broker.dead_letters(QUERIES.name)] == [{"tenant_id": TENANT}]


async def test_events_are_handled_once_and_a_failing_handler_is_retried():
    broker, deps = InMemoryBroker(), Deps()
    deps.failures = 1
    async with serve(_router(), deps, broker):
        envelope = await broker.publish_event("session.created", _created())
        await broker.settled()
        # The same envelope again (a redelivery after a lost ack): the inbox skips it.
        await broker.publish(envelope, exchange=topology.EVENTS, routing_key="session.created")
        await broker.settled()
    assert deps.seen == [SESSION]


async def test_exhausted_retries_are_dead_lettered():
    broker, deps = InMemoryBroker(), Deps()
    deps.failures = 99
    async with serve(_router(), deps, broker, max_attempts=2):
        await broker.publish_event("session.created", _created())
    assert [e.type for e in broker.dead_letters(EVENTS.name)] == ["session.created"]
    assert deps.seen == []


async def test_a_mandatory_message_nobody_is_bound_for_is_refused():
    from aio_pika.exceptions import PublishError

    with pytest.raises(PublishError):
        await InMemoryBroker().send_command("session.get", {"tenant_id": TENANT, "session_id": SESSION})
    broker = InMemoryBroker()
    held = broker.hold_for_worker("w-1")
    await broker.send_to_worker("w-1", "worker.session.stop", {"session_id": SESSION})
    assert [e.type for e in held.envelopes()] == ["worker.session.stop"]
