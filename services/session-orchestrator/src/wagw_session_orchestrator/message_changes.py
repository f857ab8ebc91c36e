"""Edit or revoke a message the session sent: refused here with the reason WhatsApp would give (or the
platform knows), otherwise handed to the session's worker. History changes only when the worker
confirms (`received.py` applies `worker.message.edited` / `worker.message.deleted`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from wagw_common.contracts.message_changes import EDIT_WINDOW_MINUTES, EDITABLE_TYPES
from wagw_common.envelope import Envelope
from wagw_common.errors import NotFound
from wagw_common.logging import get_logger

from . import clock
from .deps import Deps
from .lifecycle import DELIVERED, READ, SENT
from .session_worker import connected_worker, hand_over, refuse
from .views import message_view

log = get_logger(__name__)
_ON_WHATSAPP = frozenset({SENT, DELIVERED, READ})


async def _changeable(data: dict[str, Any], deps: Deps) -> tuple[dict[str, Any], str]:
    """The message and the worker to ask, or the refusal: 404 for another tenant's or session's."""
    message = await deps.messages.get_for_tenant(data["tenant_id"], data["message_id"])
    if message is None or data["session_id"] not in (None, message["session_id"]):
        raise NotFound("no such message", {"message_id": data["message_id"]})
    if message["direction"] != "outbound":
        raise refuse("only a message sent through the session can be changed", "received")
    if message.get("deleted_at") is not None:
        raise refuse("the message was deleted for everyone", "deleted")
    if message["status"] not in _ON_WHATSAPP:
        raise refuse(f"the message is {message['status']}, not on WhatsApp", "not_sent", status=message["status"])
    return message, await connected_worker(await deps.sessions.get(message["session_id"]), deps.routes)


async def when_edit_requested_hand_it_to_the_worker(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    data = envelope.data
    message, worker_id = await _changeable(data, deps)
    if message["type"] not in EDITABLE_TYPES:
        raise refuse(f"a {message['type']} message has no text to edit", "not_editable", type=message["type"])
    if clock.now() - message["created_at"] > timedelta(minutes=EDIT_WINDOW_MINUTES):
        raise refuse(f"WhatsApp lets a message be edited for {EDIT_WINDOW_MINUTES} minutes after sending",
                      "edit_window_passed")
    await hand_over(deps.broker, worker_id, "worker.message.edit", {
        "session_id": message["session_id"], "message_id": message["_id"], "chat": message["chat"],
        "text": data["text"]})
    log.info("message.edit_requested", message_id=message["_id"], worker_id=worker_id)
    return message_view(message)


async def when_revoke_requested_hand_it_to_the_worker(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    message, worker_id = await _changeable(envelope.data, deps)
    await hand_over(deps.broker, worker_id, "worker.message.revoke", {
        "session_id": message["session_id"], "message_id": message["_id"], "chat": message["chat"]})
    log.info("message.revoke_requested", message_id=message["_id"], worker_id=worker_id)
    return message_view(message)
