"""What an event does, published on the in-memory broker and consumed through realtime's router by
the real consumer (contract validation included), with the Socket.IO server stood in for."""

from contextlib import asynccontextmanager

import pytest

from wagw_common.contracts import Kind, contract_for, of_kind
from wagw_common import topology
from wagw_common.testing import InMemoryBroker, serve
from wagw_realtime.catalog import LOGINS_ENDED, PUSHES
from wagw_realtime.router import router

pytestmark = pytest.mark.unit


def example(event_type: str, **changes) -> dict:
    contract = contract_for(event_type)
    return contract.load({**contract.example, **changes})


@asynccontextmanager
async def serving(fakes):
    """The router consumed as the edge's replica, with clients of every kind connected to it (a user, an
    administrator, an API key): its queue bound to every type it takes."""
    broker = InMemoryBroker(source="session-orchestrator")
    edge = fakes.edge(broker=broker)
    async with serve(router, edge, broker, replica_id=fakes.replica):
        await edge.bindings.admit([*PUSHES, LOGINS_ENDED])
        yield edge, broker


async def publish(fakes, event_type: str, **changes):
    async with serving(fakes) as (edge, broker):
        await broker.publish_event(event_type, example(event_type, **changes))
    return edge


async def test_a_status_change_is_pushed_to_its_tenant_as_json(fakes):
    edge = await publish(fakes, "session.qr_updated", tenant_id="u_42", session_id="s_9")
    [(event, data, rooms)] = edge.sio.emitted
    # One emit to both rooms: python-socketio sends it once to a client that is in both.
    assert (event, rooms) == ("session.qr", ["user:u_42", "session:s_9"])
    assert data["expires_at"] == "2026-01-01T12:01:00+00:00"  # a string, ready for JSON


async def test_a_worker_event_goes_to_the_administrators_only(fakes):
    edge = await publish(fakes, "worker.offline", worker_id="w-1")
    [(event, data, rooms)] = edge.sio.emitted
    assert (event, rooms, data["worker_id"]) == ("worker.status", "admins", "w-1")


async def test_ended_logins_close_the_users_room_and_push_nothing(fakes):
    edge = await publish(fakes, "user.logins_ended", user_id="u_42")
    assert edge.sio.manager.closed_rooms == ["user:u_42"] and edge.sio.emitted == []


async def test_an_event_that_breaks_its_contract_is_dead_lettered_not_pushed(fakes):
    async with serving(fakes) as (edge, broker):
        envelope = broker.envelope("session.status_changed", example("session.status_changed"))
        envelope.data.pop("session_id")
        await broker.publish(envelope, exchange=topology.EVENTS, routing_key=envelope.type)
    assert edge.sio.emitted == []
    [dead] = broker.queues[topology.REALTIME_EVENTS.dead_letter_name].envelopes()
    assert dead.type == "session.status_changed" and dead.id == envelope.id


def test_the_queue_takes_every_pushed_event_and_the_end_of_logins_by_name_bound_on_demand():
    [events] = router
    assert set(events.bindings()) == {(topology.EVENTS, t) for t in [*PUSHES, "user.logins_ended"]}
    assert events.bound_on_demand and events.declared().bindings == ()
    pushed_kinds = ("session.", "message.", "worker.")
    assert {c.type for c in of_kind(Kind.EVENT) if c.type.startswith(pushed_kinds)} <= set(PUSHES)
