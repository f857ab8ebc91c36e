"""What workers report about the sessions they hold and the messages they carry.

Uplink messages are handled concurrently, so they may be applied out of the order a worker sent
them: each report is checked against the lifecycle table (sessions) or the forward-only order
(messages) and a report that would move things backwards is logged and dropped, never applied.

Every handler is given `speaker`, the worker the broker vouches for (wagw_common.worker_speakers);
the body's `worker_id` is never believed. A report about a session placed on another worker, or a
message handed to another, is refused (`worker_speakers.refuse`: counted, logged, no event)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from wagw_common.broker import Broker
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger
from wagw_common.outbox import OutboxRelay
from wagw_common.worker_speakers import MESSAGE_NOT_HANDED_TO_IT, SESSION_NOT_HELD, refuse

from . import clock, events
from .lifecycle import (
    CONNECTED, CONNECTING, DISCONNECTED, LOGGED_OUT, QR_REQUIRED, RECEIVED, RECONNECTING, can_move, is_live,
    FAILED, QUEUED, message_may_move, message_overtaken,
)
from .known_messages import KnownMessages
from .message_routing import release_held
from .messages_store import MessagesStore, inbound_message_id
from .placement import stop_on
from .received import received_content
from .reporters import holds, may_adopt, may_report_on
from .routing import SessionRoutes
from .session_change import SessionChange, change_session
from .sessions_store import SessionsStore

log = get_logger(__name__)
SENDS_BOUNCED = Counter(
    "wagw_session_orchestrator_sends_bounced_total",
    "Sends a worker handed back unsent (it was unsure its session was still its own), by what became of "
    "them: routed (to the session's worker now), held (the session is not connected), ignored (moved on)",
    ["outcome"],
)


def _from_assigned_worker(envelope: Envelope, session: dict[str, Any], speaker: str) -> bool:
    # A worker that lost the session (failover, reconnect elsewhere) may still be talking about it;
    # a worker that never held it is speaking about another tenant's session.
    if holds(session, speaker):
        return True
    refuse(envelope, SESSION_NOT_HELD, session_id=session["_id"], worker_id=speaker,
           assigned_worker_id=session.get("worker_id"))
    return False


async def when_worker_shows_qr_store_it(
    envelope: Envelope, *, speaker: str, sessions: SessionsStore, relay: OutboxRelay, broker: Broker,
) -> None:
    data = envelope.data

    def show(session: dict, change: SessionChange) -> SessionChange | None:
        if not _from_assigned_worker(envelope, session, speaker):
            return None
        if session.get("qr") == data["qr"] and session["status"] == QR_REQUIRED:
            return None  # the same code reported twice
        if session["status"] != QR_REQUIRED:
            if not can_move(session["status"], QR_REQUIRED):
                log.info("worker.qr_ignored", session_id=session["_id"], status=session["status"])
                return None
            change.move_to(QR_REQUIRED)
        return change.show_qr(data["qr"], clock.to_stored_precision(data["expires_at"]))

    if await change_session(sessions, relay, broker, data["session_id"], show) is None:
        log.warning("worker.report_for_unknown_session", report="qr", session_id=data["session_id"])


async def when_worker_shows_pairing_code_store_it(
    envelope: Envelope, *, speaker: str, sessions: SessionsStore, relay: OutboxRelay, broker: Broker,
) -> None:
    data = envelope.data

    def show(session: dict, change: SessionChange) -> SessionChange | None:
        if not _from_assigned_worker(envelope, session, speaker):
            return None
        if session["status"] not in (CONNECTING, RECONNECTING) or session.get("pairing_code") == data["code"]:
            log.info("worker.pairing_code_ignored", session_id=session["_id"], status=session["status"])
            return None
        return change.show_pairing_code(data["code"], clock.to_stored_precision(data["expires_at"]))

    if await change_session(sessions, relay, broker, data["session_id"], show) is None:
        log.warning("worker.report_for_unknown_session", report="pairing_code", session_id=data["session_id"])


async def when_worker_reports_session_status_apply_it(
    envelope: Envelope, *, speaker: str, sessions: SessionsStore, relay: OutboxRelay, broker: Broker,
    messages: MessagesStore, message_relay: OutboxRelay, routes: SessionRoutes,
) -> None:
    data = envelope.data
    target = data["status"]
    stray: list[bool] = []
    moved_from: list[str | None] = []

    def apply(session: dict, change: SessionChange) -> SessionChange | None:
        if target == CONNECTED and may_adopt(session, speaker):
            # Waiting for a worker after a failover found none: the worker that held it is back with it.
            change.set(worker_id=speaker)
        elif not _from_assigned_worker(envelope, session, speaker):
            stray[:] = [is_live(target)]
            return None
        if session.get("awaiting_stop") == speaker and target in (DISCONNECTED, LOGGED_OUT):
            return change.set(awaiting_stop=None)  # the stop half of a restart on the same worker
        if session["status"] == RECONNECTING and target == CONNECTING:
            return None  # the worker starting it again is part of reconnecting, not news
        if target == session["status"]:
            # Nothing happened that anyone needs to hear about; a newly learnt phone is still kept.
            return change.set(phone=data["phone"]) if data["phone"] and data["phone"] != session.get("phone") else None
        if not can_move(session["status"], target):
            log.info("worker.status_ignored", session_id=session["_id"], status=session["status"], reported=target)
            return None
        change.move_to(target, reason=data["reason"])
        moved_from[:] = [session.get("moved_from")] if target == CONNECTED else []
        if target == CONNECTED or not is_live(target):
            change.set(qr=None, qr_expires_at=None, pairing_code=None, pairing_code_expires_at=None, moved_from=None)
            if session.get("moved_from"):
                change.set(former_worker_id=session["moved_from"])  # the move ended; see reporters.py
        if data["phone"]:
            change.set(phone=data["phone"])
        return change

    written = await change_session(sessions, relay, broker, data["session_id"], apply)
    if written is None:
        log.warning("worker.report_for_unknown_session", report="status", session_id=data["session_id"])
        return
    if stray and stray[0]:
        # A worker runs a session the platform placed elsewhere (it came back after a failover, say):
        # one session must not be live on two workers, so this one is told to stop it.
        log.warning("worker.stray_session_stopped", session_id=written["_id"], worker_id=speaker,
                    assigned_worker_id=written.get("worker_id"))
        await stop_on(broker, speaker, written["_id"], logout=False)
        return
    if moved_from and moved_from[0]:
        log.info("failover.session_back", session_id=written["_id"], moved_from=moved_from[0],
                 worker_id=speaker)  # the end of a move (the failover figure is read from these)
    if target == CONNECTED and written["status"] == CONNECTED and written.get("worker_id") == speaker:
        await routes.remember(written["_id"], speaker)  # new after an adoption; refreshed otherwise
        # Every CONNECTED report releases what waits (idempotent: claims), so a retried report
        # finishes a release that a crash interrupted.
        await release_held(written["_id"], speaker, messages=messages, relay=message_relay, broker=broker)


async def _advance_known(data: dict[str, Any], step: dict[str, Any], speaker: str, *, known: KnownMessages,
                         messages: MessagesStore, relay: OutboxRelay, broker: Broker) -> bool:
    """The common case in one round trip: a forward step of a message this replica stored or read
    lately, reported by the worker it was handed to. False: take the full path."""
    facts = known.facts(data["message_id"])
    if facts is None or facts["session_id"] != data["session_id"] or step["status"] == FAILED:
        return False  # a failure may come from a worker the session left: the full path asks the session
    entry = events.message_status(broker, facts, status=step["status"], at=step["at"], reason=data["reason"])
    if await messages.advance(facts, step["status"], step, entry, reported_by=speaker,
                              wa_message_id=data.get("wa_message_id")) is None:
        return False
    await events.publish_outbox(relay, facts["_id"], [entry])
    return True


async def when_worker_reports_message_status_record_it(
    envelope: Envelope, *, speaker: str, messages: MessagesStore, relay: OutboxRelay, broker: Broker,
    sessions: SessionsStore | None = None, known: KnownMessages | None = None,
) -> None:
    data = envelope.data
    target = data["status"]
    at = clock.to_stored_precision(data["at"])
    step = {"status": target, "at": at, "reason": data["reason"]}
    if known is not None and await _advance_known(data, step, speaker, known=known, messages=messages, relay=relay,
                                                  broker=broker):
        return
    message = await messages.get(data["message_id"])
    if message is None or message["session_id"] != data["session_id"] or message["direction"] != "outbound":
        log.warning("worker.status_for_unknown_message", message_id=data["message_id"], session_id=data["session_id"])
        return
    if known is not None:
        known.remember(message)
    if not await _handed_to(envelope, message, speaker, sessions):
        return
    if target == FAILED and message["status"] == QUEUED and sessions is not None:
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
        message = await messages.get(message["_id"])  # a later status won the race meanwhile
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
        message = await messages.get(message["_id"])
    raise RuntimeError(f"message {message['_id']} kept changing while its {target!r} step was recorded")  # retried


async def _handed_to(envelope: Envelope, message: dict[str, Any], speaker: str,
                     sessions: SessionsStore | None) -> bool:
    """Whether `speaker` may report on this send: it was handed to it. One handed to no worker (held,
    or taken back by a bounce) only by the worker its session is on."""
    routed_to = message.get("routed_to")
    if routed_to == speaker:
        return True
    if routed_to is None and sessions is not None:
        session = await sessions.get(message["session_id"])
        if session is not None and holds(session, speaker):
            return True
    # A worker the message was taken from (it died, the session moved) must not rewrite its history.
    refuse(envelope, MESSAGE_NOT_HANDED_TO_IT, message_id=message["_id"], worker_id=speaker, routed_to=routed_to)
    return False


async def when_worker_bounces_message_route_it_again(
    envelope: Envelope, *, speaker: str, messages: MessagesStore, relay: OutboxRelay, broker: Broker,
    sessions: SessionsStore,
) -> None:
    """A worker handed a send back unsent: it was unsure the session was still its own (see
    `worker.message.bounced`). Taken back from it, the message goes to the session's worker now:
    back to the same worker (nothing moved) it is marked rerouted, which that worker sends even
    while still unsure, so a bounce never loops; another worker gets an ordinary send (one of an
    older version would refuse the field). Held if the session is not CONNECTED anywhere, until it
    is (or the held expiry fails it). A message handed to another worker since, or past queued, has
    moved on: the bounce changes nothing."""
    data = envelope.data
    message = await messages.get(data["message_id"])
    if message is None or message["session_id"] != data["session_id"] or message["direction"] != "outbound":
        log.warning("worker.bounce_for_unknown_message", message_id=data["message_id"], session_id=data["session_id"])
        return
    routed_to = message.get("routed_to")
    # Held already (routed_to None): a redelivered bounce whose first delivery took it back; released below.
    moved_on = message["status"] != QUEUED or not await _handed_to(envelope, message, speaker, sessions)
    if moved_on or (routed_to is not None and not await messages.unroute(message["_id"], speaker)):
        log.info("worker.bounce_ignored", message_id=message["_id"], worker_id=speaker,
                 status=message["status"], routed_to=routed_to)
        SENDS_BOUNCED.labels("ignored").inc()
        return
    log.info("message.bounced", message_id=message["_id"], worker_id=speaker, reason=data["reason"])
    session = await sessions.get(data["session_id"])
    if session is None or session["status"] != CONNECTED or not session.get("worker_id"):
        SENDS_BOUNCED.labels("held").inc()
        return
    await release_held(session["_id"], session["worker_id"], messages=messages, relay=relay, broker=broker,
                       rerouted=session["worker_id"] == speaker)
    SENDS_BOUNCED.labels("routed").inc()


async def when_worker_receives_message_store_it(
    envelope: Envelope, *, speaker: str, sessions: SessionsStore, messages: MessagesStore, relay: OutboxRelay,
    broker: Broker,
) -> None:
    data = envelope.data
    session = await sessions.get(data["session_id"])
    if session is None:
        log.warning("worker.report_for_unknown_session", report="inbound", session_id=data["session_id"])
        return
    if not may_report_on(session, speaker):
        refuse(envelope, SESSION_NOT_HELD, session_id=session["_id"], worker_id=speaker,
               assigned_worker_id=session.get("worker_id"))
        return
    message = {
        "_id": inbound_message_id(data["session_id"], data["wa_message_id"]), "session_id": data["session_id"],
        "tenant_id": session["tenant_id"], "direction": "inbound", "chat": data["chat"], "sender": data["sender"],
        "type": data["type"], "text": data["text"], "content": await received_content(data, messages),
        "wa_message_id": data["wa_message_id"], "status": RECEIVED,
        "timeline": [], "at": clock.to_stored_precision(data["at"]), "created_at": clock.now(),
    }
    entry = events.message_received(broker, message)
    if not await messages.insert({**message, "outbox": [entry]}):
        log.info("worker.inbound_duplicate", message_id=message["_id"])
        return
    await events.publish_outbox(relay, message["_id"], [entry])
