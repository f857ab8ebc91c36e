"""Every metric this service declares, and the probe that reads its gauges from the database.

Sessions and messages by status are counted from the database when /metrics is scraped (see
wagw_common.state_metrics): right whichever replica answers, and however many there are. Worker
reports refused for who sent them are counted by `wagw_common.worker_speakers`, shared with the registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from wagw_common.contracts.fields import MESSAGE_STATUSES
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.state_metrics import count_by, set_counts

from .lifecycle import RECEIVED

SESSIONS = Gauge("wagw_sessions", "Sessions by status (deleted ones not counted)", ["status"])
MESSAGES = Gauge("wagw_messages", "Messages in the history by status (outbound: queued to read or failed; "
                 "inbound: received)", ["status"])
SENDS_BOUNCED = Counter(
    "wagw_session_orchestrator_sends_bounced_total",
    "Sends a worker handed back unsent (it was unsure its session was still its own), by what became of "
    "them: routed (to the session's worker now), held (the session is not connected), ignored (moved on)",
    ["outcome"],
)


def probe(sessions_collection, messages_collection):
    async def read() -> None:
        by_status = await count_by(sessions_collection, "status", {"status": {"$ne": SessionStatus.DELETED}})
        set_counts(SESSIONS, [s for s in SessionStatus if s != SessionStatus.DELETED], by_status)
        set_counts(MESSAGES, (*MESSAGE_STATUSES, RECEIVED), await count_by(messages_collection, "status"))

    return read
