"""Stored documents as the views the contracts promise (SessionView, MessageView)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wagw_common.contracts.messages import CONTENT_FIELDS
from wagw_common.storage import utc_now

from . import pacing


def session_view(session: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A QR (or pairing code) is shown only while it can still be used."""
    now = now or utc_now()
    expires_at = session.get("qr_expires_at")
    qr_valid = bool(session.get("qr")) and expires_at is not None and expires_at > now
    code_expires_at = session.get("pairing_code_expires_at")
    code_valid = bool(session.get("pairing_code")) and code_expires_at is not None and code_expires_at > now
    return {
        "session_id": session["_id"],
        "tenant_id": session["tenant_id"],
        "name": session["name"],
        "description": session.get("description", ""),
        "status": session["status"],
        "worker_id": session.get("worker_id"),
        "qr": session["qr"] if qr_valid else None,
        "qr_expires_at": expires_at if qr_valid else None,
        "phone": session.get("phone"),
        "sequence": session.get("sequence"),
        "pairing_code": session["pairing_code"] if code_valid else None,
        "pairing_code_expires_at": code_expires_at if code_valid else None,
        "pacing": pacing.view(session, now),
        "created_at": session["created_at"],
        "updated_at": session["updated_at"],
    }


def message_view(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": message["_id"],
        "session_id": message["session_id"],
        "tenant_id": message["tenant_id"],
        "direction": message["direction"],
        "chat": message["chat"],
        "type": message["type"],
        "sender": message.get("sender"),
        "sender_phone": (message.get("content") or {}).get("sender_phone"),
        "text": message.get("text"),
        **{part: (message.get("content") or {}).get(part) for part in (*CONTENT_FIELDS, "poll_vote")},
        "wa_message_id": message.get("wa_message_id"),
        "status": message["status"],
        "timeline": [
            {"status": step["status"], "at": step["at"], "reason": step.get("reason")}
            for step in message.get("timeline", [])
        ],
        "created_at": message["created_at"],
        "edited_at": message.get("edited_at"),
        "deleted_at": message.get("deleted_at"),
    }
