"""Marking a chat read (handed to the session's worker, then its received messages marked read in
history); presence (handed to the worker, nothing stored). See `contracts/chat_actions.py`. Another
tenant's session is 404, one that is not CONNECTED a 409. Listing the chats is a read (queries.py)."""

from __future__ import annotations

from typing import Any

from wagw_common.envelope import Envelope
from wagw_common.errors import NotFound
from wagw_common.logging import get_logger

from . import clock
from .deps import Deps
from .jid import to_jid
from .session_worker import connected_worker, hand_over

log = get_logger(__name__)


async def _act(envelope: Envelope, action: str, command: str, deps: Deps) -> dict[str, Any]:
    data = envelope.data
    session = await deps.sessions.get_for_tenant(data["tenant_id"], data["session_id"])
    if session is None:
        raise NotFound("no such session", {"session_id": data["session_id"]})
    worker_id = await connected_worker(session, deps.routes)
    chat = to_jid(data["chat"]) if data.get("chat") else None
    presence = data.get("presence")
    await hand_over(deps.broker, worker_id, command, {"session_id": session["_id"], "chat": chat,
                                                 **({"presence": presence} if action == "presence" else {})})
    log.info("chat.action_handed_over", action=action, session_id=session["_id"], worker_id=worker_id,
             presence=presence)
    return {"session_id": session["_id"], "action": action, "chat": chat, "presence": presence}


async def when_chat_read_requested_hand_it_to_the_worker(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    accepted = await _act(envelope, "read", "worker.chat.read", deps)
    await deps.messages.mark_chat_read(accepted["session_id"], accepted["chat"], clock.now())
    return accepted


async def when_presence_requested_hand_it_to_the_worker(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    return await _act(envelope, "presence", "worker.chat.presence", deps)
