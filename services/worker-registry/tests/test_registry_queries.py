"""The select and list answers against an in-memory store (the real store is in test_registry_real),
asked through the registry's router on the in-memory broker."""

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from wagw_common.errors import RemoteError
from wagw_common.testing import InMemoryBroker, serve

from wagw_worker_registry.deps import Deps
from wagw_worker_registry.router import router

pytestmark = [pytest.mark.unit, pytest.mark.asyncio]

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def worker(worker_id: str, free: int, state: str = "online") -> dict:
    return {"_id": worker_id, "version": "1", "state": state, "max_sessions": 10,
            "free": free, "last_heartbeat_at": NOW, "registered_at": NOW, "pending": [], "environment": "production"}


@dataclass
class FakeStore:
    workers: list[dict]
    lose_races_on: set[str] = field(default_factory=set)  # another select fills these first

    async def pending_owner(self, session_id):
        return next((w for w in self.workers if any(p["session_id"] == session_id for p in w["pending"])), None)

    async def with_free_capacity(self, limit):
        live = [w for w in self.workers if w["state"] == "online" and w["free"] > 0]
        return sorted(live, key=lambda w: -w["free"])[:limit]

    async def claim(self, worker_id, session_id, now):
        w = next(w for w in self.workers if w["_id"] == worker_id)
        if worker_id in self.lose_races_on:
            w["free"] = 0
        if w["state"] != "online" or w["free"] <= 0:
            return False
        w["free"] -= 1
        w["pending"].append({"session_id": session_id, "at": now})
        return True

    async def list(self, state=None, environment=None):
        return [w for w in self.workers if state in (None, w["state"]) and environment in (None, w["environment"])]


def deps(store: FakeStore) -> Deps:
    return Deps(store=store, speakers=None, missed=3, assignment_grace=30)


async def ask(store: FakeStore, request_type: str, **data):
    """Through the registry's router on the in-memory broker: contract checks and replies as in production."""
    async with serve(router, deps(store), InMemoryBroker()) as rpc:
        return await rpc.call(request_type, data)


async def test_select_takes_the_emptiest_worker_and_a_slot_of_it():
    store = FakeStore([worker("a", 2), worker("b", 5), worker("c", 1, state="offline")])
    assert await ask(store, "worker.select", session_id="s_1") == {"worker_id": "b"}
    assert store.workers[1]["free"] == 4


async def test_select_asked_again_for_the_same_session_gives_the_same_worker_without_a_second_slot():
    store = FakeStore([worker("a", 2), worker("b", 3)])
    first = await ask(store, "worker.select", session_id="s_1")
    again = await ask(store, "worker.select", session_id="s_1")
    assert first == again == {"worker_id": "b"} and store.workers[1]["free"] == 2


async def test_select_moves_on_when_the_best_worker_fills_up_under_it():
    store = FakeStore([worker("a", 2), worker("b", 5)], lose_races_on={"b"})
    assert await ask(store, "worker.select", session_id="s_1") == {"worker_id": "a"}


async def test_select_without_free_capacity_is_unavailable():
    store = FakeStore([worker("a", 0), worker("b", 4, state="offline")])
    with pytest.raises(RemoteError, match="no worker with free capacity") as refused:
        await ask(store, "worker.select", session_id="s_1")
    assert refused.value.code == "unavailable"


async def test_list_filters_by_state_and_environment_and_shows_the_view_only():
    store = FakeStore([worker("a", 2), worker("b", 5, state="offline"), {**worker("c", 1), "environment": "eu"}])
    reply = await ask(store, "worker.list", state="offline")
    assert [w["worker_id"] for w in reply["workers"]] == ["b"]
    assert "sessions" not in reply["workers"][0] and reply["workers"][0]["score"] is None
    reply = await ask(store, "worker.list", state=None, environment="eu")
    assert [w["worker_id"] for w in reply["workers"]] == ["c"]
