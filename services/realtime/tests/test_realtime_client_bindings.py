"""The replica's queue is bound to what its connected clients can receive: bound before a connection is
acknowledged, unbound when the last client receiving a type leaves, safe under concurrent connects and
disconnects. The real connect/disconnect handlers, the in-memory broker's routing."""

import asyncio
import random

import pytest
import socketio

from wagw_common.envelope import Envelope
from wagw_common.testing import SlowBindingBroker
from wagw_common.testing.broker import DeliveredMessage
from wagw_common.topology import EVENTS
from wagw_realtime.catalog import LOGINS_ENDED
from wagw_realtime.client_bindings import ADMIN_TYPES, TENANT_TYPES
from wagw_realtime.client_requests import reauth
from wagw_realtime.router import events as events_queue
from wagw_realtime.sockets import when_client_connects_authenticate, when_client_disconnects_forget_it

pytestmark = pytest.mark.unit
USER_TYPES = TENANT_TYPES | {LOGINS_ENDED}
KEY = {"key_id": "k_1", "tenant_id": "u_7", "session_id": "s_1", "scopes": ["*"]}


def bound(edge) -> set[str]:
    queue = edge.bindings.queue.queue.name
    return {key for exchange, key, name in edge.bindings.queue.broker.bindings if exchange == EVENTS and name == queue}


def reaches_replica(edge, event_type: str) -> bool:
    envelope = Envelope(type=event_type, source="test", data={})
    message = DeliveredMessage(envelope.to_json(), event_type, envelope.id, None, None, None, {}, None)  # type: ignore[arg-type]
    return edge.bindings.queue.broker.route(EVENTS, event_type, message)


async def connect(edge, auth, sid):
    await when_client_connects_authenticate(sid, {}, auth, edge=edge)


async def test_with_no_client_connected_no_event_reaches_the_replica(fakes):
    edge = fakes.edge()
    await edge.bindings.restore()
    assert bound(edge) == set() and not reaches_replica(edge, "message.sent")
    assert edge.bindings.queue.queue.name == f"{events_queue.spec.name}.replica.{fakes.replica}"


async def test_a_user_binds_the_tenant_events_and_the_end_of_logins_before_being_acknowledged(fakes):
    edge = fakes.edge()
    await connect(edge, {"token": fakes.token()}, "sid1")  # returning is what acknowledges the connection
    assert bound(edge) == USER_TYPES and reaches_replica(edge, "message.sent")
    assert not reaches_replica(edge, "worker.offline")
    await connect(edge, {"token": fakes.token(role="admin")}, "sid2")
    assert bound(edge) == USER_TYPES | ADMIN_TYPES
    await when_client_disconnects_forget_it("sid2", "client disconnect", edge=edge)
    assert bound(edge) == USER_TYPES  # the administrator was the last to receive worker events
    await when_client_disconnects_forget_it("sid1", "client disconnect", edge=edge)
    assert bound(edge) == set()


async def test_an_api_key_binds_the_tenant_events_only(fakes):
    edge = fakes.edge(rpc=fakes.Rpc(apikey_resolve=KEY, session_get={}))
    await connect(edge, {"api_key": "wagw_sk_secret"}, "sid1")
    assert bound(edge) == set(TENANT_TYPES)
    for task in list(edge.checks):
        await task


async def test_a_type_stays_bound_while_another_client_here_receives_it(fakes):
    edge = fakes.edge()
    await connect(edge, {"token": fakes.token(user_id="u_1")}, "sid1")
    await connect(edge, {"token": fakes.token(user_id="u_2")}, "sid2")
    await when_client_disconnects_forget_it("sid1", "client disconnect", edge=edge)
    assert bound(edge) == USER_TYPES


async def test_connects_and_disconnects_racing_never_leave_a_connected_client_unbound(fakes):
    """Clients come and go side by side while the broker takes its time: from the moment each one's
    connect returns until it disconnects, what it receives is bound; at the end nothing is."""
    edge = fakes.edge(broker=SlowBindingBroker(source="test"))
    checks = []

    async def client(n: int) -> None:
        sid = f"sid{n}"
        await asyncio.sleep(random.uniform(0, 0.01))
        await connect(edge, {"token": fakes.token(user_id=f"u_{n}", role="admin" if n % 3 == 0 else "user")}, sid)
        receives = edge.connections.get(sid).receives
        for _ in range(3):
            checks.append(receives <= bound(edge))
            await asyncio.sleep(random.uniform(0, 0.005))
        await when_client_disconnects_forget_it(sid, "client disconnect", edge=edge)

    for _ in range(5):
        await asyncio.gather(*(client(n) for n in range(12)))
        assert all(checks) and bound(edge) == set()


async def test_a_binding_the_broker_refuses_refuses_the_connection_and_frees_its_place(fakes):
    edge = fakes.edge()

    async def refused(queue, bind=(), unbind=()):
        raise ConnectionError("broker unreachable")

    edge.bindings.queue.broker.set_bindings = refused
    with pytest.raises(socketio.exceptions.ConnectionRefusedError) as caught:
        await connect(edge, {"token": fakes.token()}, "sid1")
    assert caught.value.error_args["data"]["code"] == "unavailable"
    assert len(edge.connections) == 0 and edge.quota.released == edge.quota.admitted == [("user:u_7", "sid1")]


async def test_an_unbinding_that_fails_leaves_the_type_bound_and_the_next_one_retries(fakes):
    edge = fakes.edge()
    broker = edge.bindings.queue.broker
    await connect(edge, {"token": fakes.token()}, "sid1")
    working = broker.set_bindings

    async def refused(queue, bind=(), unbind=()):
        raise ConnectionError("broker unreachable")

    broker.set_bindings = refused
    await when_client_disconnects_forget_it("sid1", "client disconnect", edge=edge)
    assert bound(edge) == USER_TYPES and len(edge.connections) == 0  # more than needed, never less
    broker.set_bindings = working
    await connect(edge, {"token": fakes.token()}, "sid2")
    await when_client_disconnects_forget_it("sid2", "client disconnect", edge=edge)
    assert bound(edge) == set()


async def test_a_queue_the_broker_lost_is_bound_again_after_a_reconnect(fakes):
    edge = fakes.edge()
    broker = edge.bindings.queue.broker
    await connect(edge, {"token": fakes.token()}, "sid1")
    broker.bindings.clear()  # the queue came back bare
    await edge.bindings.restore()  # what app.py runs on every broker reconnect
    assert bound(edge) == USER_TYPES


async def test_a_reauth_that_makes_an_administrator_binds_worker_events_before_it_is_answered(fakes):
    edge = fakes.edge()
    await connect(edge, {"token": fakes.token()}, "sid1")
    connection = edge.connections.get("sid1")
    await reauth(edge, connection, {"token": fakes.token(role="admin")})
    assert bound(edge) == USER_TYPES | ADMIN_TYPES and connection.receives == USER_TYPES | ADMIN_TYPES
    await reauth(edge, connection, {"token": fakes.token()})
    assert bound(edge) == USER_TYPES and connection.receives == USER_TYPES
