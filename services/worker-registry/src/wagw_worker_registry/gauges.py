"""Fleet gauges, counted from the `workers` collection when /metrics is scraped (see
wagw_common.state_metrics): right whichever replica answers, and however many there are."""

from __future__ import annotations

from prometheus_client import Gauge

from wagw_common.state_metrics import count_by, set_counts

from .fleet import DRAINING, OFFLINE, ONLINE
from .store import WorkerStore

WORKERS = Gauge("wagw_workers", "Registered workers by state (online, draining, offline)", ["state"])
FREE_SLOTS = Gauge("wagw_worker_free_slots", "Sessions the online workers can still take (their summed free capacity)")


def probe(store: WorkerStore):
    async def read() -> None:
        states = (ONLINE, DRAINING, OFFLINE)
        set_counts(WORKERS, states, await count_by(store.collection, "state", {"state": {"$in": list(states)}}))
        rows = await (await store.collection.aggregate([
            {"$match": {"state": ONLINE}},
            {"$group": {"_id": None, "n": {"$sum": "$free"}}},
        ])).to_list(None)
        FREE_SLOTS.set(rows[0]["n"] if rows else 0)

    return read
