"""Sending through a session: the message stored, then routed to its worker, held, or refused."""

from __future__ import annotations

from typing import Any

from wagw_common.contracts.messages import CONTENT_FIELDS
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

from . import clock, events
from .deps import Deps
from .jid import to_jid
from .lifecycle import FAILED, QUEUED
from .message_routing import fail, hand_to_worker, release_held
from .messages_store import MessagesStore
from .paced_release import PACED, pace_send

log = get_logger(__name__)


# Statuses in which a session is on its way back to a worker: sends wait for it (held), in order.
_HOLDING = frozenset({SessionStatus.RECONNECTING})


async def _disposition(session: dict[str, Any] | None, data: dict[str, Any], messages: MessagesStore,
                       queue_limit: int) -> str:
    """`route` now, `hold` until the session is CONNECTED again, or the reason it is refused."""
    if session is None:
        return "session_not_found"
    if session["status"] == SessionStatus.CONNECTED:
        return "route"
    if session["status"] in _HOLDING:
        return "hold"  # the platform is moving it: nobody asked for this, so no limit applies
    if not data.get("queue"):
        return "session_not_connected"
    # Asked to wait: up to `queue_limit` per session (counted before the insert, so concurrent sends
    # can pass it by a few; it bounds the backlog, it is not an exact quota).
    return "hold" if await messages.count_held(session["_id"]) < queue_limit else "queue_full"


async def _content(data: dict[str, Any], messages: MessagesStore) -> tuple[dict[str, Any], str | None]:
    """The parts besides type and text, with the WhatsApp id of a quoted or reacted-to message; or the
    reason the send is refused (it names a message this session does not have)."""
    content = {name: data[name] for name in CONTENT_FIELDS if data.get(name) is not None}
    target_id = (data.get("reaction") or {}).get("message_id") or data.get("reply_to")
    if target_id:
        target = await messages.get(target_id)
        if target is None or target["session_id"] != data["session_id"] or target["tenant_id"] != data["tenant_id"]:
            return content, "reaction_target_not_found" if data.get("reaction") else "reply_target_not_found"
        if target.get("wa_message_id"):
            content["quoted_wa_message_id"] = target["wa_message_id"]
    return content, None


async def when_send_requested_store_and_route_it(envelope: Envelope, deps: Deps) -> None:
    sessions, messages, relay, broker = deps.sessions, deps.messages, deps.message_relay, deps.broker
    data = envelope.data
    session = await sessions.get_for_tenant(data["tenant_id"], data["session_id"])
    disposition = await _disposition(session, data, messages, deps.send_queue_limit)
    content, bad_target = await _content(data, messages)
    if bad_target and disposition in ("route", "hold"):
        disposition = bad_target
    disposition, paced_until = await pace_send(session, data["message_id"], disposition, slots=deps.pacing,
                                               messages=messages)
    # The session just read names its worker (what the route cache is rebuilt from): no Redis read per send.
    worker_id = session.get("worker_id") if session is not None and disposition == "route" else None
    if disposition == "route" and worker_id is None:
        disposition = "session_not_connected"
    if disposition == "session_not_connected" and session is not None:  # a missing one is session_not_found
        # The gateway refuses these itself from the status cache: this one found it empty or behind.
        await sessions.record_status(session)
    now = clock.now()
    message = {
        "_id": data["message_id"], "session_id": data["session_id"], "tenant_id": data["tenant_id"],
        "direction": "outbound", "chat": to_jid(data["to"]), "type": data["type"], "text": data.get("text"),
        "content": content, "status": QUEUED, "timeline": [{"status": QUEUED, "at": now, "reason": None}],
        "created_at": now,
        "order": clock.order(),
        # Claimed for its worker in the insert itself, so a concurrent release cannot send it too.
        "routed_to": worker_id,
        **({"paced_until": paced_until} if paced_until else {}),
    }
    entries = [events.message_status(broker, message, status=QUEUED, at=now)]
    refusal = None if disposition in ("route", "hold", PACED) else disposition
    if refusal:
        # Accepted and refused in the same write: the history shows both steps, and nothing is routed.
        message["status"] = FAILED
        message["timeline"].append({"status": FAILED, "at": now, "reason": refusal})
        entries.append(events.message_status(broker, message, status=FAILED, at=now, reason=refusal))
    if not await messages.insert({**message, "outbox": entries}):
        existing = await messages.get(message["_id"])
        if existing is None or existing["status"] != QUEUED or existing["tenant_id"] != data["tenant_id"]:
            log.info("message.already_accepted", message_id=message["_id"])
            return
        # Still queued: an earlier delivery of this command may have stopped before routing it.
        # Routing again is at-least-once; workers drop a message id they have already sent.
        message = existing
        if refusal:
            await fail(message, refusal, messages=messages, relay=relay, broker=broker)
            return
        if disposition == "route" and worker_id is not None and existing.get("routed_to") != worker_id:
            if not await messages.claim_route(existing["_id"], worker_id):
                return  # a release handed it to the session's worker already
    else:
        deps.known.remember(message)  # its status reports then skip reading it back
        await events.publish_outbox(relay, message["_id"], entries)
        if refusal:
            log.info("message.refused", message_id=message["_id"], reason=refusal)
            return
    if disposition == PACED:
        log.info("message.paced", message_id=message["_id"], paced_until=message.get("paced_until"))
        return  # the paced release hands it to the worker at its slot
    if disposition == "hold":
        log.info("message.held", message_id=message["_id"], session_id=message["session_id"])
        await _release_if_connected_meanwhile(message["session_id"], deps)
        return
    if worker_id is None:  # every disposition but `route` returned above, and a route has its worker
        raise RuntimeError(f"message {message['_id']} reached its hand-over with no worker ({disposition})")
    await hand_to_worker(message, worker_id, messages=messages, relay=relay, broker=broker)


async def _release_if_connected_meanwhile(session_id: str, deps: Deps) -> None:
    """The session may have come back between our read (RECONNECTING) and our insert: its CONNECTED
    report then released the held messages without this one (that release's query ran before the
    insert). Then this read, made after the insert, sees it CONNECTED, and releases it (claims keep
    two releases from sending one message twice). Found by the failover test with two replicas."""
    session = await deps.sessions.get(session_id)
    if session is not None and session["status"] == SessionStatus.CONNECTED and session.get("worker_id"):
        await release_held(session_id, session["worker_id"], messages=deps.messages, relay=deps.message_relay,
                           broker=deps.broker)
