"""Deliveries by status and disabled endpoints, counted from the database when /metrics is scraped
(see wagw_common.state_metrics): right whichever replica answers, and however many there are."""

from __future__ import annotations

from wagw_common.state_metrics import count_by, set_counts

from .deliveries_store import FAILED, PENDING, SUCCEEDED
from .metrics import DELIVERIES, ENDPOINTS


def probe(endpoints_collection, deliveries_collection):
    async def read() -> None:
        set_counts(DELIVERIES, (PENDING, SUCCEEDED, FAILED), await count_by(deliveries_collection, "status"))
        enabled = await count_by(endpoints_collection, "enabled")
        set_counts(ENDPOINTS, ("enabled", "disabled"),
                   {"enabled": enabled.get("True", 0), "disabled": enabled.get("False", 0)})

    return read
