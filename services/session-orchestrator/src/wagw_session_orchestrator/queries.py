"""The reads (request/reply, on a queue of their own): a session, a tenant's sessions, a page of
history, one message, a session's chats. Another tenant's session or message answers `not_found`."""

from __future__ import annotations

from typing import Any

from wagw_common.envelope import Envelope
from wagw_common.errors import NotFound

from . import clock
from .deps import Deps
from .jid import to_jid
from .paced_release import with_waiting
from .session_commands import tenant_session
from .views import message_view, session_view


async def when_session_requested_return_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    session = await tenant_session(deps.sessions, envelope.data["tenant_id"], envelope.data["session_id"])
    return await with_waiting(session_view(session), deps.pacing)


async def when_sessions_listed_return_them(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    now = clock.now()
    found = await deps.sessions.list_for_tenant(envelope.data["tenant_id"])
    return {"sessions": [await with_waiting(session_view(session, now), deps.pacing) for session in found]}


async def when_history_requested_return_a_page(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    data = envelope.data
    await tenant_session(deps.sessions, data["tenant_id"], data["session_id"])
    filters = {name: data.get(name) for name in ("direction", "status", "since", "until")}
    filters["chat"] = to_jid(data["chat"]) if data.get("chat") else None
    for name in ("since", "until"):
        if (bound := filters[name]) is not None:
            filters[name] = clock.to_stored_precision(bound)
    page, next_cursor = await deps.messages.page(data["tenant_id"], data["session_id"], limit=data["limit"],
                                                 before=data["before"], filters=filters)
    return {"messages": [message_view(m) for m in page], "next_cursor": next_cursor}


async def when_message_requested_return_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    message = await deps.messages.get_for_tenant(envelope.data["tenant_id"], envelope.data["message_id"])
    if message is None:
        raise NotFound("no such message", {"message_id": envelope.data["message_id"]})
    return message_view(message)


async def when_chats_listed_return_them(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    """The session's chats from history, the latest active first, with their counts of unread messages."""
    data = envelope.data
    await tenant_session(deps.sessions, data["tenant_id"], data["session_id"])
    latest = await deps.messages.recent_chats(data["tenant_id"], data["session_id"], limit=data["limit"])
    unread = await deps.messages.unread_by_chat(data["session_id"], [m["chat"] for m in latest]) if latest else {}
    return {"chats": [{
        "chat": m["chat"], "unread": unread.get(m["chat"], 0),
        "last_message": {"message_id": m["_id"], "direction": m["direction"], "type": m["type"], "text": m.get("text"),
                         "status": m["status"], "created_at": m["created_at"]},
    } for m in latest]}
