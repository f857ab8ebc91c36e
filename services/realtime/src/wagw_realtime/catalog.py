"""Every Socket.IO event the service pushes: which domain event causes it, which rooms get it, and what
it carries. One table, so the frontend's event guide (docs/realtime.md) is generated from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from wagw_common.contracts.fields import MESSAGE_STATUSES

TENANT, ADMINS = "tenant", "admins"
ADMINS_ROOM = "admins"
LOGINS_ENDED = "user.logins_ended"  # consumed but not pushed: it closes the user's room


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def session_room(session_id: str) -> str:
    return f"session:{session_id}"


@dataclass(frozen=True)
class Push:
    socket_event: str
    fields: tuple[str, ...]
    audience: str  # TENANT: the tenant's user room and the session's room; ADMINS: every administrator
    summary: str
    constants: Mapping[str, Any] = field(default_factory=dict)  # payload fields with a fixed value

    def rooms(self, data: Mapping[str, Any]) -> str | list[str]:
        """Where the event goes. A client in both of a tenant event's rooms gets it once: python-socketio
        merges the rooms' members by sid before sending (base_manager.get_participants)."""
        if self.audience == ADMINS:
            return ADMINS_ROOM
        return [user_room(data["tenant_id"]), session_room(data["session_id"])]

    def payload(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {name: self.constants.get(name, data.get(name)) for name in self.fields}


SESSION_QR = Push("session.qr", ("session_id", "qr", "expires_at", "sequence"), TENANT,
                  "A QR code to scan; replaces any earlier one")
SESSION_STATUS = Push("session.status", ("session_id", "status", "previous", "reason", "sequence"), TENANT,
                      "A session changed state (or, with `previous` null, its current state on subscribe)")
# A session's record is created with sequence 1, so its creation is the first event of its sequence.
SESSION_CREATED = Push("session.created", ("session_id", "name", "status", "sequence"), TENANT,
                       "A session record was created", constants={"sequence": 1})
SESSION_PAIRING_CODE = Push("session.pairing_code", ("session_id", "code", "expires_at", "sequence"), TENANT,
                            "A pairing code to enter on the phone (Linked devices > Link with phone number)")
SESSION_UPDATED = Push("session.updated", ("session_id", "name", "description", "sequence"), TENANT,
                       "A session was renamed or described")
SESSION_PACING_CHANGED = Push("session.pacing_changed", ("session_id", "pacing", "sequence"), TENANT,
                              "A session's send pacing was set, changed or removed")
SESSION_DELETED = Push("session.deleted", ("session_id", "sequence"), TENANT,
                       "A session was deleted (its API keys stop working; its history is gone)")
MESSAGE_STATUS = Push("message.status", ("session_id", "message_id", "status", "reason", "at"), TENANT,
                      "An outbound message moved along queued, sent, delivered, read (or failed)")
MESSAGE_RECEIVED = Push("message.received", ("session_id", "message_id", "chat", "sender", "sender_phone", "type",
                                             "text", "media", "location", "contact", "reaction", "poll", "poll_vote",
                                             "reply_to", "at"),
                        TENANT, "A message arrived for the session (media described, never its bytes)")
MESSAGE_EDITED = Push("message.edited", ("session_id", "message_id", "chat", "direction", "text", "at"), TENANT,
                      "A message's text was changed")
MESSAGE_DELETED = Push("message.deleted", ("session_id", "message_id", "chat", "direction", "at"), TENANT,
                       "A message was deleted for everyone")
WORKER_STATUS = Push("worker.status", ("worker_id", "state", "reason"), ADMINS,
                     "A worker came online, went offline, started draining or was removed")

# domain event type -> what is pushed for it. Domain events not listed here are not pushed.
PUSHES: dict[str, Push] = {
    "session.qr_updated": SESSION_QR,
    "session.status_changed": SESSION_STATUS,
    "session.created": SESSION_CREATED,
    "session.pairing_code": SESSION_PAIRING_CODE,
    "session.updated": SESSION_UPDATED,
    "session.pacing_changed": SESSION_PACING_CHANGED,
    "session.deleted": SESSION_DELETED,
    **{f"message.{status}": MESSAGE_STATUS for status in MESSAGE_STATUSES},
    "message.received": MESSAGE_RECEIVED,
    "message.edited": MESSAGE_EDITED,
    "message.deleted": MESSAGE_DELETED,
    "worker.online": WORKER_STATUS,
    "worker.offline": WORKER_STATUS,
    "worker.draining": WORKER_STATUS,
    "worker.removed": WORKER_STATUS,
}

# What each payload field means, for the frontend guide.
FIELDS = {
    "session_id": "the session the event is about",
    "qr": "the raw QR value: render it as a QR code (any QR library), the phone scans it",
    "expires_at": "when the QR (or pairing code) stops being valid (ISO 8601, UTC); null when unknown",
    "sequence": "the session's event number: 1 at creation, +1 for each later session event (see below)",
    "status": "the new state (session) or step (message)",
    "previous": "the state before; null in the state sent on subscribe",
    "reason": "why, when there is a reason (e.g. `qr_timeout`, `session_not_connected`); else null",
    "name": "the session's display name",
    "description": "the session's description",
    "pacing": "the send pacing policy now in force (`min_gap_seconds`, `jitter_seconds`, `warmup`, `since`); "
              "null: sends are no longer paced",
    "code": "the pairing code to type on the phone",
    "message_id": "the message's id, as `POST /api/v1/send` answered it (outbound) or as stored (inbound)",
    "at": "when it happened (ISO 8601, UTC)",
    "chat": "the chat (a WhatsApp id: `…@s.whatsapp.net`, a hidden `…@lid` or a group's `…@g.us`)",
    "sender": "who wrote it (in a group, the member; otherwise the chat); may be a hidden `…@lid` id, to which a "
              "reply works as to a number",
    "sender_phone": "the sender's number when `sender` is an `…@lid` id and the worker knows it; else null",
    "type": "the message type (`text`, `image`, `video`, `audio`, `document`, `sticker`, `location`, `contact`, "
            "`reaction`, `poll`, `poll_vote`)",
    "text": "the message text (a media message's caption); null when none",
    "media": "a media message's file, described: `mimetype`, `size` (bytes), `sha256`, `filename`, `ptt` (a voice "
             "note); else null",
    "location": "a location's `latitude`, `longitude`, `name`, `address`; else null",
    "contact": "a shared contact's `name` and `phone`; else null",
    "reaction": "a reaction's `emoji` (empty: removed) and the `message_id` it is about (null when not in history)",
    "reply_to": "the id of the message a reply quotes, when it is in history; else null",
    "poll": "a poll's `name`, `options` and `selectable_count` (0: any number); else null",
    "poll_vote": "a vote's `options` (the voter's choice now; empty: withdrawn) and the poll's `message_id` (null "
                 "when not in history); else null",
    "direction": "`inbound` (received) or `outbound` (sent through the session)",
    "worker_id": "the worker's id",
    "state": "`online`, `offline`, `draining` or `removed`",
}


def state_of_session(view: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """What a client subscribing to a session is sent at once: its status, and its QR or pairing code if
    one is pending.

    `view` is a `session.get` reply (SessionView); both carry the session's latest sequence number, so
    a client applies them and then ignores any older event still on its way."""
    sequence = view.get("sequence")
    pushes = [(SESSION_STATUS.socket_event, SESSION_STATUS.payload(
        {"session_id": view["session_id"], "status": view["status"], "previous": None, "reason": None,
         "sequence": sequence}))]
    if view.get("qr"):
        pushes.append((SESSION_QR.socket_event, SESSION_QR.payload(
            {"session_id": view["session_id"], "qr": view["qr"], "expires_at": view.get("qr_expires_at"),
             "sequence": sequence})))
    if view.get("pairing_code"):
        pushes.append((SESSION_PAIRING_CODE.socket_event, SESSION_PAIRING_CODE.payload(
            {"session_id": view["session_id"], "code": view["pairing_code"], "expires_at": None,
             "sequence": sequence})))
    return pushes
