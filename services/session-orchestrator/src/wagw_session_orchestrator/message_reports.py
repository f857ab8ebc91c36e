"""What a worker reports about the sends it was handed: each status step (sent, delivered, read, failed).

Reports are handled concurrently and receipts race one another, so a step may arrive after a later
one: a status only moves forward (the allowed predecessors are in the update's filter), and a step
overtaken by a later one is still kept in the timeline, with its event, once. Only the worker a send
was handed to is heard (reporters.py), so a worker the message was taken from cannot rewrite it."""

from __future__ import annotations

from typing import Any

from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

from . import clock, events
from .deps import Deps
from .lifecycle import FAILED, QUEUED, message_may_move, message_overtaken
from .reporters import handed_to
from .messages_store import MessagesStore

log = get_logger(__name__)


async def _read_again(messages: MessagesStore, message_id: str) -> dict[str, Any]:
    # Messages are never deleted while their sends report: one that vanished is a bug, not a report to drop.
    message = await messages.get(message_id)
    if message is None:
        raise RuntimeError(f"message {message_id} vanished while its status was being recorded")
    return message


async def _advance_known(data: dict[str, Any], step: dict[str, Any], speaker: str, deps: Deps) -> bool:
    """The common case in one round trip: a forward step of a message this replica stored or read
    lately, reported by the worker it was handed to. False: take the full path."""
    facts = deps.known.facts(data["message_id"])
    if facts is None or facts["session_id"] != data["session_id"] or step["status"] == FAILED:
        return False  # a failure may come from a worker the session left: the full path asks the session
    entry = events.message_status(deps.broker, facts, status=step["status"], at=step["at"], reason=data["reason"])
    if await deps.messages.advance(facts, step["status"], step, entry, reported_by=speaker,
                                   wa_message_id=data.get("wa_message_id")) is None:
        return False
    await events.publish_outbox(deps.message_relay, facts["_id"], [entry])
    return True


async def when_worker_reports_message_status_record_it(envelope: Envelope, deps: Deps, *, speaker: str) -> None:
    messages, relay, broker, sessions = deps.messages, deps.message_relay, deps.broker, deps.sessions
    data = envelope.data
    target = data["status"]
    at = clock.to_stored_precision(data["at"])
    step = {"status": target, "at": at, "reason": data["reason"]}
    if await _advance_known(data, step, speaker, deps):
        return
    message = await messages.get(data["message_id"])
    if message is None or message["session_id"] != data["session_id"] or message["direction"] != "outbound":
        log.warning("worker.status_for_unknown_message", message_id=data["message_id"], session_id=data["session_id"])
        return
    deps.known.remember(message)
    if not await handed_to(envelope, message, speaker, sessions):
        return
    if target == FAILED and message["status"] == QUEUED:
        session = await sessions.get(data["session_id"])
        if session is not None and session.get("worker_id") not in (None, speaker):
            # The session moved to another worker (failover) before this one, restarted, read its old
            # commands: it cannot send for a session it no longer holds, the new worker will (release).
            log.info("worker.failure_from_former_worker", message_id=message["_id"], worker_id=speaker,
                     assigned_worker_id=session.get("worker_id"))
            return
    entry = events.message_status(broker, message, status=target, at=at, reason=data["reason"])
    if message_may_move(message["status"], target):
        if await messages.advance(message, target, step, entry, wa_message_id=data.get("wa_message_id")) is not None:
            await events.publish_outbox(relay, message["_id"], [entry])
            return
        message = await _read_again(messages, message["_id"])  # a later status won the race meanwhile
    # A step reported after a later one still happened: kept in the timeline, its event published (once).
    for _ in range(3):
        if not message_overtaken(message["status"], target) or any(s["status"] == target for s in message["timeline"]):
            log.info("worker.message_status_ignored", message_id=message["_id"], status=message["status"],
                     reported=target)
            return
        if await messages.record_overtaken(message, step, entry, wa_message_id=data.get("wa_message_id")) is not None:
            log.info("worker.message_status_overtaken", message_id=message["_id"], reported=target)
            await events.publish_outbox(relay, message["_id"], [entry])
            return
        message = await _read_again(messages, message["_id"])
    raise RuntimeError(f"message {message['_id']} kept changing while its {target!r} step was recorded")  # retried
