"""Deliveries this replica has just created, kept until the job of their first attempt comes back to it.

That job then skips reading the delivery it was created with: one database round trip fewer for nearly
every delivery (the job is usually taken by the replica that published it). A delivery is kept as
created and handed out once. A duplicate job's attempt cannot have happened since: the delivery was
created claimed for the job that carries its ticket. A redelivery by hand meanwhile is a new cycle, and
the attempt made from the old copy is not recorded (the record's filter: still pending, the same cycle,
no attempt made yet); a job without the ticket claims, and the claim's filter checks the same. The
endpoint is taken at every attempt as it is now (EndpointsStore.current), so its URL, secrets and
enabled state stay current, and a deleted or disabled endpoint gets nothing."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from .deliveries_store import PENDING

CAPACITY = 20_000  # about the deliveries of a few minutes at full speed; the oldest are forgotten first


class FreshDeliveries:
    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._created: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def remember(self, delivery: dict[str, Any]) -> None:
        if delivery["status"] != PENDING or delivery["cycle"] != 1 or delivery["cycle_attempts"] != 0:
            return
        self._created[delivery["_id"]] = delivery
        while len(self._created) > self.capacity:
            self._created.popitem(last=False)

    def take(self, job: dict[str, Any]) -> dict[str, Any] | None:
        """The delivery as created, for the first job of its first attempt only (never twice)."""
        if job["cycle"] != 1 or job["attempt"] != 1 or job["deferrals"]:
            return None
        return self._created.pop(job["delivery_id"], None)

    def __len__(self) -> int:
        return len(self._created)
