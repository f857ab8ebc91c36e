"""The select and list answers against an in-memory store (the real store is in test_registry_real)."""

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from wagw_common.envelope import Envelope
from wagw_common.errors import Unavailable

from wagw_worker_registry import queries

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


def select(session_id: str) -> Envelope:
    return Envelope(type="worker.select", source="test", data={"session_id": session_id})


async def test_select_takes_the_emptiest_worker_and_a_slot_of_it():
    store = FakeStore([worker("a", 2), worker("b", 5), worker("c", 1, state="offline")])
    assert await queries.when_worker_requested_choose_one(select("s_1"), store=store) == {"worker_id": "b"}
    assert store.workers[1]["free"] == 4


async def test_select_asked_again_for_the_same_session_gives_the_same_worker_without_a_second_slot():
    store = FakeStore([worker("a", 2), worker("b", 3)])
    first = await queries.when_worker_requested_choose_one(select("s_1"), store=store)
    again = await queries.when_worker_requested_choose_one(select("s_1"), store=store)
    assert first == again == {"worker_id": "b"} and store.workers[1]["free"] == 2


async def test_select_moves_on_when_the_best_worker_fills_up_under_it():
    store = FakeStore([worker("a", 2), worker("b", 5)], lose_races_on={"b"})
    assert await queries.when_worker_requested_choose_one(select("s_1"), store=store) == {"worker_id": "a"}


async def test_select_without_free_capacity_is_unavailable():
    store = FakeStore([worker("a", 0), worker("b", 4, state="offline")])
    with pytest.raises(Unavailable, match="no worker with free capacity"):
        await queries.when_worker_requested_choose_one(select("s_1"), store=store)


async def test_list_filters_by_state_and_environment_and_shows_the_view_only():
    store = FakeStore([worker("a", 2), worker("b", 5, state="offline"), {**worker("c", 1), "environment": "eu"}])
    envelope = Envelope(type="worker.list", source="test", data={"state": "offline"})
    reply = await queries.when_fleet_requested_list_workers(envelope, store=store)
    assert [w["worker_id"] for w in reply["workers"]] == ["b"]
    assert "sessions" not in reply["workers"][0] and reply["workers"][0]["score"] is None
    envelope = Envelope(type="worker.list", source="test", data={"state": None, "environment": "eu"})
    reply = await queries.when_fleet_requested_list_workers(envelope, store=store)
    assert [w["worker_id"] for w in reply["workers"]] == ["c"]
