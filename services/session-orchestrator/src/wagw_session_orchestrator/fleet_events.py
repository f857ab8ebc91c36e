"""What the worker registry tells us about the fleet.

A worker going offline, draining or leaving is handled by `failover`; a worker coming online is
noted (it gets new sessions from the registry's selection)."""

from __future__ import annotations

from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

log = get_logger(__name__)


async def when_worker_came_online_note_it(envelope: Envelope) -> None:
    data = envelope.data
    log.info("fleet.worker_online", worker_id=data["worker_id"], reason=data["reason"],
             session_count=len(data["session_ids"]))
