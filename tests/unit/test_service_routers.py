"""The routers of all the services together against the contracts: every command and query the gateway
(or a service) sends has exactly one handler for each routing key it goes by (a sharded command, like
`message.send.<shard>`, one per shard), so it never waits in a queue nobody consumes or reaches two
services; every type a router handles has a contract; each router lists the queues the topology
catalogues for its service."""

from __future__ import annotations

from collections import defaultdict

import pytest
from wagw_common.contracts import CATALOG, Kind
from wagw_common.services import service_routers

pytestmark = pytest.mark.unit

ROUTERS = service_routers()
DECLARED = {service: router for service, router in ROUTERS.items() if router is not None}


def handlers_of_each_type() -> dict[str, list[tuple[str, str]]]:
    """message type -> (routing key, "service: queue") of each handler."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for service, router in DECLARED.items():
        for queue in router:
            for message_type, route in queue.routes.items():
                found[message_type].append((route.routing_key or message_type, f"{service}: {queue.spec.name}"))
    return found


def handled_twice(handlers: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """Commands and queries whose routing key reaches more than one handler."""
    twice = {}
    for message_type, where in handlers.items():
        keys = [key for key, _ in where]
        if CATALOG[message_type].kind in (Kind.COMMAND, Kind.QUERY) and len(set(keys)) < len(keys):
            twice[message_type] = where
    return twice


@pytest.mark.parametrize("service", sorted(DECLARED))
def test_a_router_consumes_the_queues_the_topology_catalogues_for_its_service(service):
    DECLARED[service].check()


@pytest.mark.parametrize("service", sorted(DECLARED))
def test_every_type_a_router_handles_has_a_contract_of_a_kind_a_service_receives(service):
    for queue in DECLARED[service]:
        for message_type in queue.routes:
            contract = CATALOG.get(message_type)
            assert contract is not None, f"{queue.spec.name} handles {message_type}, which no contract declares"
            assert contract.kind in (Kind.COMMAND, Kind.QUERY, Kind.EVENT, Kind.WORKER_UPLINK), message_type


def test_every_command_and_query_has_exactly_one_handler():
    missing = sorted(service for service, router in ROUTERS.items() if router is None)
    assert missing == [], f"services without a router module: {missing}"
    handlers = handlers_of_each_type()
    sent = sorted(c.type for c in CATALOG.values() if c.kind in (Kind.COMMAND, Kind.QUERY))
    unhandled = [t for t in sent if not handlers.get(t)]
    twice = handled_twice(handlers)
    assert unhandled == [] and twice == {}, f"no handler: {unhandled}; more than one: {twice}"


def test_what_the_declared_routers_handle_is_handled_once():
    """Holds already for the routers that exist, and keeps holding as the others arrive."""
    assert handled_twice(handlers_of_each_type()) == {}
