"""The orchestrator's queues, as its router declares them: every command and query it handles reaches
exactly one of them (reads apart from commands, sends on their session's shard), worker reports split
between session reports and message reports, and the router consumes the queues the topology lists."""

import pytest

from wagw_common import topology
from wagw_common.contracts import CATALOG, Kind
from wagw_common.testing.broker import topic_matches
from wagw_session_orchestrator.router import router

pytestmark = pytest.mark.unit
QUEUES = router.specs()
# What only reads (request/reply, changing nothing): never behind a backlog of sends or commands.
READS = {"session.get", "session.list", "message.list", "message.get", "message.chats"}


def _queues_for(exchange: str, key: str) -> list[str]:
    return [q.name for q in QUEUES if any(e == exchange and topic_matches(p, key) for e, p in q.bindings)]


def test_the_router_consumes_exactly_the_queues_the_topology_lists():
    router.check()
    assert sorted(q.name for q in QUEUES) == sorted(q.name for q in topology.SERVICE_QUEUES["session-orchestrator"])


def test_queries_and_commands_each_reach_one_queue():
    ours = {t for t, c in CATALOG.items()
            if t.startswith(("session.", "message.")) and c.kind in (Kind.COMMAND, Kind.QUERY)}
    assert READS < ours
    for message_type in ours:
        expected = topology.ORCHESTRATOR_QUERIES if message_type in READS else topology.ORCHESTRATOR_COMMANDS
        assert _queues_for(topology.COMMANDS, message_type) == [expected.name], message_type


def test_a_sessions_sends_always_reach_the_same_single_consumer_shard():
    shards = {topology.send_routing_key(f"s_{n:016x}") for n in range(200)}
    assert len(shards) == topology.SEND_SHARDS  # spread over every shard
    key = topology.send_routing_key("s_0123456789abcdef")
    assert key == topology.send_routing_key("s_0123456789abcdef")
    [queue] = _queues_for(topology.COMMANDS, key)
    spec = next(q for q in QUEUES if q.name == queue)
    assert spec.arguments()["x-single-active-consumer"] is True
    assert _queues_for(topology.COMMANDS, "message.send") == [topology.ORCHESTRATOR_COMMANDS.name]  # older gateways


def test_session_reports_and_message_reports_each_reach_one_queue():
    reports = {"worker.session.qr", "worker.session.pairing_code", "worker.session.status"}
    carried = {"worker.message.status", "worker.message.inbound", "worker.message.bounced", "worker.message.edited",
               "worker.message.deleted"}
    for message_type in reports | carried:
        expected = (topology.ORCHESTRATOR_SESSION_REPORTS if message_type in reports
                    else topology.ORCHESTRATOR_WORKER_UPLINK)
        assert _queues_for(topology.WORKER_UPLINK, message_type) == [expected.name], message_type
    assert {t for t in router.handled_types() if CATALOG[t].kind is Kind.WORKER_UPLINK} == reports | carried
