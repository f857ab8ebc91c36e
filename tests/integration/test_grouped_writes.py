"""Outbox clears grouped into bulk writes (wagw_common.grouped_writes), against the local MongoDB-compatible
server: every update applied, concurrent ones sharing commands, and an update the server refuses failing
its own caller, with no caller told of an update that was not applied; lazy clears gathered over an
interval into one command, one update per document, after the events were published."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from pymongo import AsyncMongoClient, monitoring

from harness.infra import MONGO_URI
from wagw_common import topology
from wagw_common.contracts import contract_for
from wagw_common.grouped_writes import GroupedUpdates
from wagw_common.outbox import OutboxRelay, outbox_entry
from wagw_common.testing import InMemoryBroker

pytestmark = pytest.mark.integration
MESSAGE_EVENT = contract_for("message.read").schema().load(contract_for("message.read").example)


class _Commands(monitoring.CommandListener):
    def __init__(self):
        self.names: list[str] = []
        self.updates: list[int] = []  # the number of updates each `update` command carried

    def started(self, event):
        self.names.append(event.command_name)
        if event.command_name == "update":
            self.updates.append(len(event.command["updates"]))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


@pytest.fixture
async def counted():
    commands = _Commands()
    client = AsyncMongoClient(MONGO_URI, event_listeners=[commands])
    name = f"wagw_test_grouped_{uuid.uuid4().hex[:8]}"
    try:
        yield client[name]["docs"], commands
    finally:
        await client.drop_database(name)
        await client.close()


async def test_concurrent_updates_are_all_applied_in_fewer_commands(counted):
    collection, commands = counted
    await collection.insert_many([{"_id": i, "outbox": ["a", "b"]} for i in range(40)])
    grouped = GroupedUpdates(collection)
    commands.names.clear()
    await asyncio.gather(*(grouped.update_one({"_id": i}, {"$pullAll": {"outbox": ["a"]}}) for i in range(40)))
    assert [d["outbox"] async for d in collection.find({}).sort("_id")] == [["b"]] * 40
    assert 1 <= commands.names.count("update") < 40


async def test_a_refused_update_fails_its_caller_and_no_caller_is_told_of_an_update_not_applied(counted):
    collection, _ = counted
    await collection.insert_many([{"_id": 1, "n": 1}, {"_id": 2, "n": "text"}])
    grouped = GroupedUpdates(collection)
    results = await asyncio.gather(grouped.update_one({"_id": 1}, {"$inc": {"n": 1}}),
                                   grouped.update_one({"_id": 2}, {"$inc": {"n": 1}}),
                                   grouped.update_one({"_id": 1}, {"$inc": {"n": 1}}), return_exceptions=True)
    assert isinstance(results[1], Exception)
    # MongoDB names the refused update and applies the others, whose callers succeed; FerretDB 1.24 may
    # stop at the refused one and its answer leaves out what PyMongo needs to tell them apart
    # (nModified), so there every caller of the group is told of a failure (and retries).
    told_applied = sum(r is None for r in (results[0], results[2]))
    assert (await collection.find_one({"_id": 1}))["n"] >= 1 + told_applied


async def test_lazy_clears_of_one_document_in_one_interval_are_one_update_of_it(counted):
    collection, commands = counted
    broker = InMemoryBroker(source="test")
    relay = OutboxRelay(collection, broker, lazy_clears=True)
    steps = {i: [outbox_entry(broker, "message.read", {**MESSAGE_EVENT, "message_id": f"m_{i}"}) for _ in range(3)]
             for i in range(4)}
    left = outbox_entry(broker, "message.read", {**MESSAGE_EVENT, "message_id": "m_0"})  # not published yet
    await collection.insert_many([{"_id": i, "outbox": entries + ([left] if i == 0 else [])}
                                  for i, entries in steps.items()])
    commands.names.clear()
    for step in range(3):  # a document's status steps, one after another, as its handlers publish them
        for i, entries in steps.items():
            await relay.flush(i, [entries[step]])
        await asyncio.sleep(0.01)
    assert commands.names.count("update") == 0  # nobody waits for them: still gathering
    await relay.cleared()
    outboxes = {d["_id"]: [e["id"] for e in d["outbox"]] async for d in collection.find({})}
    assert outboxes == {0: [left["id"]], 1: [], 2: [], 3: []}
    assert commands.names.count("update") == 1
    assert commands.updates == [4]  # one update per document, each taking its three entries


async def test_a_lazy_outbox_flush_publishes_at_once_and_clears_with_the_next_group(counted):
    collection, commands = counted
    broker = InMemoryBroker(source="test")
    held = broker.hold(topology.EVENTS, "message.#")
    relay = OutboxRelay(collection, broker, lazy_clears=True)
    entries = {}
    for i in range(5):
        entries[i] = [outbox_entry(broker, "message.read", {**MESSAGE_EVENT, "message_id": f"m_{i}"})]
        await collection.insert_one({"_id": i, "outbox": entries[i]})
    commands.names.clear()
    await asyncio.gather(*(relay.flush(i, entries[i]) for i in range(5)))
    assert len(held.envelopes()) == 5 and commands.names.count("update") == 0
    await relay.cleared()
    assert [d["outbox"] async for d in collection.find({})] == [[]] * 5
    assert commands.names.count("update") == 1
