"""Sending through a session, and reading its history."""

from __future__ import annotations

from typing import Any

from aio_pika.exceptions import PublishError

from wagw_common.broker import Broker
from wagw_common.envelope import Envelope
from wagw_common.errors import NotFound
from wagw_common.logging import get_logger
from wagw_common.outbox import OutboxRelay

from . import clock, events
from .jid import to_jid
from .lifecycle import CONNECTED, FAILED, QUEUED
from .messages_store import MessagesStore
from .routing import SessionRoutes
from .sessions_store import SessionsStore
from .views import message_view

log = get_logger(__name__)


def _refusal(session: dict[str, Any] | None) -> str | None:
    if session is None:
        return "session_not_found"
    if session["status"] != CONNECTED:
        return "session_not_connected"
    return None


async def when_send_requested_store_and_route_it(
    envelope: Envelope, *, sessions: SessionsStore, messages: MessagesStore, relay: OutboxRelay, broker: Broker,
    routes: SessionRoutes,
) -> None:
    data = envelope.data
    session = await sessions.get_for_tenant(data["tenant_id"], data["session_id"])
    now = clock.now()
    message = {
        "_id": data["message_id"], "session_id": data["session_id"], "tenant_id": data["tenant_id"],
        "direction": "outbound", "chat": to_jid(data["to"]), "type": data["type"], "text": data["text"],
        "status": QUEUED, "timeline": [{"status": QUEUED, "at": now, "reason": None}], "created_at": now,
    }
    entries = [events.message_status(broker, message, status=QUEUED, at=now)]
    refusal = _refusal(session)
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
            await _fail(message, refusal, messages=messages, relay=relay, broker=broker)
            return
    else:
        await events.publish_outbox(relay, message["_id"], entries)
        if refusal:
            log.info("message.refused", message_id=message["_id"], reason=refusal)
            return
    await _route(message, messages=messages, relay=relay, broker=broker, routes=routes)


async def _route(message: dict[str, Any], *, messages: MessagesStore, relay: OutboxRelay, broker: Broker,
                 routes: SessionRoutes) -> None:
    worker_id = await routes.worker_for(message["session_id"])
    if worker_id is None:
        await _fail(message, "session_not_connected", messages=messages, relay=relay, broker=broker)
        return
    command = {"session_id": message["session_id"], "message_id": message["_id"], "to": message["chat"],
               "type": message["type"], "text": message["text"]}
    try:
        await broker.send_to_worker(worker_id, "worker.message.send", command, subject=message["_id"])
    except PublishError as exc:
        # Unroutable: the worker's queue is gone, so waiting will not help (transient errors propagate
        # and the command is retried).
        log.warning("message.worker_unreachable", message_id=message["_id"], worker_id=worker_id, error=repr(exc))
        await _fail(message, "worker_unreachable", messages=messages, relay=relay, broker=broker)
        return
    log.info("message.routed", message_id=message["_id"], worker_id=worker_id)


async def _fail(message: dict[str, Any], reason: str, *, messages: MessagesStore, relay: OutboxRelay,
                broker: Broker) -> None:
    now = clock.now()
    entry = events.message_status(broker, message, status=FAILED, at=now, reason=reason)
    written = await messages.advance(message, FAILED, {"status": FAILED, "at": now, "reason": reason}, entry)
    if written is not None:
        await events.publish_outbox(relay, message["_id"], [entry])


async def when_history_requested_return_a_page(
    envelope: Envelope, *, sessions: SessionsStore, messages: MessagesStore,
) -> dict[str, Any]:
    data = envelope.data
    if await sessions.get_for_tenant(data["tenant_id"], data["session_id"]) is None:
        raise NotFound("no such session", {"session_id": data["session_id"]})
    page, next_cursor = await messages.page(data["tenant_id"], data["session_id"], limit=data["limit"],
                                            before=data["before"])
    return {"messages": [message_view(m) for m in page], "next_cursor": next_cursor}


async def when_message_requested_return_it(envelope: Envelope, *, messages: MessagesStore) -> dict[str, Any]:
    message = await messages.get_for_tenant(envelope.data["tenant_id"], envelope.data["message_id"])
    if message is None:
        raise NotFound("no such message", {"message_id": envelope.data["message_id"]})
    return message_view(message)
