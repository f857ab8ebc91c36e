"""What reaches a session's phone, as its worker reports it: received messages, with the quoted and
reacted-to messages found in history; and the edits and deletions of received messages (their
senders') or of sent ones (asked for with `message.edit` / `message.revoke`).

A received message's id derives from WhatsApp's, so a repeated report stores nothing twice. An edit
or deletion of a message not in history (sent before the session was linked, or swept by retention)
is logged and dropped: there is nothing to change, and the event would name no message. All three are
taken only from the session's worker, or the one a failover moved it from (reporters.py)."""

from __future__ import annotations

from typing import Any

from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger
from wagw_common.worker_speakers import SESSION_NOT_HELD, refuse

from . import clock, events
from .deps import Deps
from .lifecycle import RECEIVED
from .messages_store import MessagesStore, inbound_message_id
from .reporters import may_report_on
from .sessions_store import SessionsStore

log = get_logger(__name__)


async def _platform_id(session_id: str, wa_message_id: str | None, messages: MessagesStore) -> str | None:
    if not wa_message_id:
        return None
    found = await messages.find_by_wa_id(session_id, wa_message_id)
    return found["_id"] if found is not None else None


async def received_content(data: dict[str, Any], messages: MessagesStore) -> dict[str, Any]:
    """The parts of a `worker.message.inbound` as history keeps them: media described, a location, a
    contact, a poll; a reaction, a poll vote and the message a reply quotes, each naming its message by
    its id in this history (null when the message is not in it)."""
    content = {part: data[part] for part in ("media", "location", "contact", "poll", "sender_phone")
               if data.get(part) is not None}
    if data.get("reaction") is not None:
        target = await _platform_id(data["session_id"], data["reaction"]["wa_message_id"], messages)
        content["reaction"] = {"message_id": target, "emoji": data["reaction"]["emoji"]}
    if data.get("poll_vote") is not None:
        poll = await _platform_id(data["session_id"], data["poll_vote"]["wa_message_id"], messages)
        content["poll_vote"] = {"message_id": poll, "options": data["poll_vote"]["options"]}
    content["reply_to"] = await _platform_id(data["session_id"], data.get("reply_to_wa_message_id"), messages)
    return content


async def when_worker_receives_message_store_it(envelope: Envelope, deps: Deps, *, speaker: str) -> None:
    data = envelope.data
    session = await _session_heard_from(envelope, speaker, deps.sessions, report="inbound")
    if session is None:
        return
    message = {
        "_id": inbound_message_id(data["session_id"], data["wa_message_id"]), "session_id": data["session_id"],
        "tenant_id": session["tenant_id"], "direction": "inbound", "chat": data["chat"], "sender": data["sender"],
        "type": data["type"], "text": data["text"], "content": await received_content(data, deps.messages),
        "wa_message_id": data["wa_message_id"], "status": RECEIVED,
        "timeline": [], "at": clock.to_stored_precision(data["at"]), "created_at": clock.now(),
    }
    entry = events.message_received(deps.broker, message)
    if not await deps.messages.insert({**message, "outbox": [entry]}):
        log.info("worker.inbound_duplicate", message_id=message["_id"])
        return
    await events.publish_outbox(deps.message_relay, message["_id"], [entry])


async def when_worker_reports_edit_record_it(envelope: Envelope, deps: Deps, *, speaker: str) -> None:
    if await _session_heard_from(envelope, speaker, deps.sessions, report=envelope.type) is not None:
        await _apply_change(envelope, "edited", deps)


async def when_worker_reports_deletion_mark_it(envelope: Envelope, deps: Deps, *, speaker: str) -> None:
    if await _session_heard_from(envelope, speaker, deps.sessions, report=envelope.type) is not None:
        await _apply_change(envelope, "deleted", deps)


async def _session_heard_from(envelope: Envelope, speaker: str, sessions: SessionsStore,
                              *, report: str) -> dict[str, Any] | None:
    """The session, if `speaker` may report on it: its worker, or the one a failover moved it from."""
    session = await sessions.get(envelope.data["session_id"])
    if session is None:
        log.warning("worker.report_for_unknown_session", report=report, session_id=envelope.data["session_id"])
        return None
    if not may_report_on(session, speaker):
        refuse(envelope, SESSION_NOT_HELD, session_id=session["_id"], worker_id=speaker,
               assigned_worker_id=session.get("worker_id"))
        return None
    return session


async def _apply_change(envelope: Envelope, change: str, deps: Deps) -> None:
    """The change and its event (`message.edited` / `message.deleted`) in one write, then published."""
    messages, broker = deps.messages, deps.broker
    data = envelope.data
    if data["wa_message_id"] is not None:
        message = await messages.find_by_wa_id(data["session_id"], data["wa_message_id"])
    else:
        message = await messages.get(data["message_id"])
        message = message if message is not None and message["session_id"] == data["session_id"] else None
    if message is None:
        log.info("worker.change_for_unknown_message", change=change, session_id=data["session_id"],
                 wa_message_id=data["wa_message_id"], message_id=data["message_id"])
        return
    at = clock.to_stored_precision(data["at"])
    entry = events.message_changed(broker, message, change, at=at, text=data.get("text"))
    if change == "edited":
        written = await messages.record_edit(message, data["text"], at, entry)
    else:
        written = await messages.mark_deleted(message, at, entry)
    if written is None:
        # An edit: deleted meanwhile, a later edit stored already, or reported again. A deletion: repeated.
        log.info("worker.change_ignored", change=change, message_id=message["_id"])
        return
    await events.publish_outbox(deps.message_relay, message["_id"], [entry])
