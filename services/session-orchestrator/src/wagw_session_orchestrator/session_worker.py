"""The worker of a connected session, and handing it a command that changes nothing stored (edit,
revoke, read, presence): refused at once when it cannot be done, so the caller hears why."""

from __future__ import annotations

from typing import Any

from aio_pika.exceptions import PublishError
from wagw_common.broker import Publishing
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.errors import Conflict, Unavailable
from wagw_common.logging import get_logger

from .routing import SessionRoutes

log = get_logger(__name__)


def refuse(message: str, reason: str, **details: Any) -> Conflict:
    """409 `conflict`, the reason in `details.reason`."""
    return Conflict(message, {"reason": reason, **details})


async def connected_worker(session: dict[str, Any] | None, routes: SessionRoutes) -> str:
    """The worker of a CONNECTED session, or the refusal (409 `session_not_connected`)."""
    connected = session and session["status"] == SessionStatus.CONNECTED
    worker_id = await routes.worker_for(session["_id"]) if session is not None and connected else None
    if worker_id is None:
        raise refuse("the session is not connected", "session_not_connected",
                     status=session["status"] if session else None)
    return worker_id


async def hand_over(broker: Publishing, worker_id: str, command: str, data: dict[str, Any]) -> None:
    """A command for the session's worker now, or 503 if it cannot take one (its queue is gone: it left)."""
    try:
        await broker.send_to_worker(worker_id, command, data, subject=data["session_id"])
    except PublishError as exc:
        log.warning("worker.command_not_routed", command=command, session_id=data["session_id"], worker_id=worker_id,
                    error=repr(exc))
        raise Unavailable("the session's worker cannot be reached; retry later") from None
