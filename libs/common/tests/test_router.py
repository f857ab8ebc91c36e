"""A router binds each queue to exactly the types it handles, on the exchange each kind is published
to, and refuses what cannot be right at import time."""

import pytest

from wagw_common import topology
from wagw_common.router import Router, RouterError
from wagw_common.topology import QueueSpec

pytestmark = pytest.mark.unit


async def _handler(envelope, deps):
    return None


def test_bindings_are_the_handled_types_on_their_kinds_exchanges():
    router = Router("svc")
    queue = router.queue(QueueSpec("svc.q"))
    queue.on("session.get", _handler)  # a query: the commands exchange
    queue.on("session.created", _handler)  # an event: the events exchange
    queue.on("worker.heartbeat", _handler)  # a worker's report: the uplink
    queue.on("message.send", _handler, routing_key="message.send.2")
    assert queue.bindings() == (
        (topology.COMMANDS, "message.send.2"), (topology.COMMANDS, "session.get"),
        (topology.EVENTS, "session.created"), (topology.WORKER_UPLINK, "worker.heartbeat"),
    )
    assert router.specs()[0].bindings == queue.bindings()


def test_an_unbound_queue_has_no_bindings():
    queue = Router("svc").queue(QueueSpec("svc.jobs"), bound=False)
    queue.on("session.get", _handler)
    assert queue.bindings() == ()


def test_a_queue_bound_on_demand_is_declared_without_the_bindings_it_may_make():
    router = Router("svc")
    queue = router.queue(QueueSpec("svc.events"), bound_on_demand="while wanted")
    queue.on("session.created", _handler)
    assert queue.bindings() == ((topology.EVENTS, "session.created"),)
    assert router.specs()[0].bindings == ()


def test_only_a_bound_queue_may_be_bound_on_demand():
    with pytest.raises(RouterError, match="on demand"):
        Router("svc").queue(QueueSpec("svc.jobs"), bound=False, bound_on_demand="while wanted")


def test_a_queue_per_replica_may_be_bound_on_demand_each_replica_its_own():
    queue = Router("svc").queue(QueueSpec("svc.mine", per_replica=True), bound_on_demand="while its clients want it")
    queue.on("session.created", _handler)
    assert queue.declared().bindings == () and queue.declared().per_replica


@pytest.mark.parametrize("message_type, why", [("session.nope", "no contract"), ("worker.session.start",
                                                                                 "never published")])
def test_a_type_no_service_can_receive_is_refused(message_type, why):
    with pytest.raises(RouterError, match=why):
        Router("svc").queue(QueueSpec("svc.q")).on(message_type, _handler)


def test_two_handlers_for_one_type_or_two_declarations_of_a_queue_are_refused():
    router = Router("svc")
    queue = router.queue(QueueSpec("svc.q"))
    queue.on("session.get", _handler)
    with pytest.raises(RouterError, match="two handlers"):
        queue.on("session.get", _handler)
    with pytest.raises(RouterError, match="declared twice"):
        router.queue(QueueSpec("svc.q"))


def test_a_router_must_consume_exactly_the_queues_the_topology_lists_for_its_service():
    router = Router("worker-registry")
    router.queue(topology.REGISTRY_COMMANDS).on("worker.list", _handler)
    with pytest.raises(RouterError, match="topology lists"):
        router.check()
    router.queue(topology.REGISTRY_WORKER_UPLINK)
    with pytest.raises(RouterError, match="no handler"):
        router.check()


def test_a_binding_both_generated_and_retired_is_refused():
    router = Router("svc")
    queue = router.queue(QueueSpec("svc.q", retired_bindings=((topology.COMMANDS, "session.get"),)))
    queue.on("session.get", _handler)
    with pytest.raises(RouterError, match="retired"):
        queue.declared()
