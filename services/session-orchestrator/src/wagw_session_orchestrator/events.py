"""The domain events this service emits, built as outbox entries (validated against their contracts).

Each entry is written in the same single-document update as the state change it reports, then
published by `publish_outbox`; whatever a crash leaves behind, the relay loop publishes later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wagw_common.broker import Publishing
from wagw_common.contracts.received import RECEIVED_PARTS
from wagw_common.logging import get_logger
from wagw_common.outbox import OutboxRelay, outbox_entry

log = get_logger(__name__)
Entry = dict[str, Any]


def session_created(broker: Publishing, session: dict) -> Entry:
    return outbox_entry(broker, "session.created", {
        "tenant_id": session["tenant_id"], "session_id": session["_id"], "name": session["name"],
        "status": session["status"],
    }, subject=session["_id"])


def session_status_changed(broker: Publishing, session: dict, *, previous: str, status: str, worker_id: str | None,
                           reason: str | None, sequence: int) -> Entry:
    return outbox_entry(broker, "session.status_changed", {
        "tenant_id": session["tenant_id"], "session_id": session["_id"], "previous": previous, "status": status,
        "worker_id": worker_id, "reason": reason, "sequence": sequence,
    }, subject=session["_id"])


def session_qr_updated(broker: Publishing, session: dict, *, qr: str, expires_at: datetime, sequence: int) -> Entry:
    return outbox_entry(broker, "session.qr_updated", {
        "tenant_id": session["tenant_id"], "session_id": session["_id"], "qr": qr, "expires_at": expires_at,
        "sequence": sequence,
    }, subject=session["_id"])


def session_pairing_code(broker: Publishing, session: dict, *, code: str, expires_at: datetime, sequence: int) -> Entry:
    return outbox_entry(broker, "session.pairing_code", {
        "tenant_id": session["tenant_id"], "session_id": session["_id"], "code": code, "expires_at": expires_at,
        "sequence": sequence,
    }, subject=session["_id"])


def session_updated(broker: Publishing, session: dict, *, name: str, description: str, sequence: int) -> Entry:
    return outbox_entry(broker, "session.updated", {
        "tenant_id": session["tenant_id"], "session_id": session["_id"], "name": name, "description": description,
        "sequence": sequence,
    }, subject=session["_id"])


def session_pacing_changed(broker: Publishing, session: dict, *, pacing: dict | None, sequence: int) -> Entry:
    return outbox_entry(broker, "session.pacing_changed", {
        "tenant_id": session["tenant_id"], "session_id": session["_id"], "pacing": pacing, "sequence": sequence,
    }, subject=session["_id"])


def session_deleted(broker: Publishing, session: dict, *, sequence: int) -> Entry:
    return outbox_entry(broker, "session.deleted", {
        "tenant_id": session["tenant_id"], "session_id": session["_id"], "sequence": sequence,
    }, subject=session["_id"])


def message_status(broker: Publishing, message: dict, *, status: str, at: datetime, reason: str | None = None) -> Entry:
    return outbox_entry(broker, f"message.{status}", {
        "tenant_id": message["tenant_id"], "session_id": message["session_id"], "message_id": message["_id"],
        "status": status, "to": message["chat"], "reason": reason, "at": at,
    }, subject=message["_id"])


def message_received(broker: Publishing, message: dict) -> Entry:
    content = message.get("content") or {}
    return outbox_entry(broker, "message.received", {
        "tenant_id": message["tenant_id"], "session_id": message["session_id"], "message_id": message["_id"],
        "chat": message["chat"], "sender": message["sender"], "type": message["type"], "text": message["text"],
        **{part: content.get(part) for part in RECEIVED_PARTS}, "at": message["at"],
        # The gateway's route that gives an expiring download link (the file is in the media store).
        "media_link": f"/api/v1/messages/{message['_id']}/media-link" if content.get("media") else None,
    }, subject=message["_id"])


def message_changed(broker: Publishing, message: dict, change: str, *, at: datetime, text: str | None = None) -> Entry:
    """`message.edited` (with the new text) or `message.deleted`."""
    return outbox_entry(broker, f"message.{change}", {
        "tenant_id": message["tenant_id"], "session_id": message["session_id"], "message_id": message["_id"],
        "chat": message["chat"], "direction": message["direction"], "text": text, "at": at,
    }, subject=message["_id"])


async def publish_outbox(relay: OutboxRelay, document_id: str, entries: list[Entry]) -> None:
    """Publish now if the broker lets us; the state and its events are already stored together, so a
    failure here only delays them until the relay loop's next pass."""
    if not entries:
        return
    try:
        await relay.flush(document_id, entries)
    except Exception as exc:
        log.warning("outbox.flush_deferred", document_id=document_id, count=len(entries), error=repr(exc))
