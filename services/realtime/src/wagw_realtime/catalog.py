"""Every Socket.IO event the service pushes: which domain event causes it, who gets it, and what it
carries. One table, so the frontend's event guide can be generated from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from wagw_common.contracts.fields import MESSAGE_STATUSES

TENANT, ADMINS = "tenant", "admins"
ADMINS_ROOM = "admins"


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def session_room(session_id: str) -> str:
    return f"session:{session_id}"


@dataclass(frozen=True)
class Push:
    socket_event: str
    fields: tuple[str, ...]
    audience: str  # TENANT: the room of the event's tenant; ADMINS: every connected administrator
    summary: str

    def room(self, data: Mapping[str, Any]) -> str:
        return ADMINS_ROOM if self.audience == ADMINS else user_room(data["tenant_id"])

    def payload(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {name: data.get(name) for name in self.fields}


SESSION_QR = Push("session.qr", ("session_id", "qr", "expires_at", "sequence"), TENANT,
                  "A QR code to scan; replaces any earlier one")
SESSION_STATUS = Push("session.status", ("session_id", "status", "previous", "reason", "sequence"), TENANT,
                      "A session changed state; ignore one whose sequence is not above the last seen")
MESSAGE_STATUS = Push("message.status", ("session_id", "message_id", "status", "reason", "at"), TENANT,
                      "An outbound message moved along queued, sent, delivered, read (or failed)")
MESSAGE_RECEIVED = Push("message.received", ("session_id", "message_id", "chat", "sender", "type", "text", "at"),
                        TENANT, "A message arrived for one of the user's sessions")
SESSION_CREATED = Push("session.created", ("session_id", "name", "status"), TENANT, "A session record was created")
WORKER_STATUS = Push("worker.status", ("worker_id", "state", "reason"), ADMINS, "A worker came online or went offline")

# domain event type -> what is pushed for it. Domain events not listed here are not pushed.
PUSHES: dict[str, Push] = {
    "session.qr_updated": SESSION_QR,
    "session.status_changed": SESSION_STATUS,
    "session.created": SESSION_CREATED,
    **{f"message.{status}": MESSAGE_STATUS for status in MESSAGE_STATUSES},
    "message.received": MESSAGE_RECEIVED,
    "worker.online": WORKER_STATUS,
    "worker.offline": WORKER_STATUS,
}


def state_of_session(view: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """What a client subscribing to a session is sent at once: its status, and its QR if one is pending.

    `view` is a `session.get` reply (SessionView). Once the view carries the session's event sequence
    number, these pushes carry it too; until then `sequence` is None and a client just applies them."""
    pushes = [(SESSION_STATUS.socket_event, SESSION_STATUS.payload(
        {"session_id": view["session_id"], "status": view["status"], "previous": None, "reason": None,
         "sequence": view.get("sequence")}))]
    if view.get("qr"):
        pushes.append((SESSION_QR.socket_event, SESSION_QR.payload(
            {"session_id": view["session_id"], "qr": view["qr"], "expires_at": view.get("qr_expires_at"),
             "sequence": view.get("sequence")})))
    return pushes
