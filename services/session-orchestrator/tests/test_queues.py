"""The orchestrator's queues: every command and query it handles reaches exactly one of them (reads
apart from commands, sends on their session's shard), and the app handles what each queue receives."""

import re

import pytest

from wagw_common import topology
from wagw_common.contracts import CATALOG

pytestmark = pytest.mark.unit
QUEUES = topology.SERVICE_QUEUES["session-orchestrator"]


def _matches(pattern: str, key: str) -> bool:
    regex = re.escape(pattern).replace(r"\*", r"[^.]+").replace(r"\#", r".*")
    return re.fullmatch(regex, key) is not None


def _queues_for(exchange: str, key: str) -> list[str]:
    return [q.name for q in QUEUES if any(e == exchange and _matches(p, key) for e, p in q.bindings)]


def test_queries_and_commands_each_reach_one_queue():
    for query in topology.ORCHESTRATOR_QUERY_TYPES:
        assert _queues_for(topology.COMMANDS, query) == [topology.ORCHESTRATOR_QUERIES.name]
    for command in topology.ORCHESTRATOR_COMMAND_TYPES:
        assert _queues_for(topology.COMMANDS, command) == [topology.ORCHESTRATOR_COMMANDS.name]
    ours = {t for t in CATALOG if t.startswith(("session.", "message.")) and CATALOG[t].kind.name in ("COMMAND", "QUERY")}
    assert ours == {*topology.ORCHESTRATOR_QUERY_TYPES, *topology.ORCHESTRATOR_COMMAND_TYPES, "message.send"}


def test_a_sessions_sends_always_reach_the_same_single_consumer_shard():
    shards = {topology.send_routing_key(f"s_{n:016x}") for n in range(200)}
    assert len(shards) == topology.SEND_SHARDS  # spread over every shard
    key = topology.send_routing_key("s_0123456789abcdef")
    assert key == topology.send_routing_key("s_0123456789abcdef")
    [queue] = _queues_for(topology.COMMANDS, key)
    spec = next(q for q in QUEUES if q.name == queue)
    assert spec.arguments()["x-single-active-consumer"] is True
    assert _queues_for(topology.COMMANDS, "message.send") == [topology.ORCHESTRATOR_COMMANDS.name]  # older gateways
