"""What the worker registry tells us about the fleet.

The walking skeleton only listens (the queue and its bindings exist, the handlers are wired);
moving sessions off an offline worker and restoring them on a returning one come with failover."""

from __future__ import annotations

from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

log = get_logger(__name__)


async def when_worker_came_online_note_it(envelope: Envelope) -> None:
    data = envelope.data
    log.info("fleet.worker_online", worker_id=data["worker_id"], reason=data["reason"],
             session_count=len(data["session_ids"]))


async def when_worker_went_offline_note_it(envelope: Envelope) -> None:
    data = envelope.data
    log.warning("fleet.worker_offline", worker_id=data["worker_id"], reason=data["reason"],
                session_ids=data["session_ids"])
