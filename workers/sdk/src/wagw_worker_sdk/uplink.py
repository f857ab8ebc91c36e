"""What a worker publishes: each message checked against its contract first, always carrying the
worker's id and its envelope source, sent to the uplink exchange with the message type as routing key."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from wagw_common.broker import Publishing
from wagw_common.contracts import contract_for
from wagw_common.contracts.workers import source_for
from wagw_common.envelope import Envelope
from wagw_common.storage import utc_now

from .link import publish_uplink


class Uplink(Protocol):
    """The reports a worker implementation makes about its sessions and messages."""

    async def session_status(self, session_id: str, status: str, *, reason: str | None = None,
                             phone: str | None = None) -> None: ...

    async def session_qr(self, session_id: str, qr: str, expires_at: datetime) -> None: ...

    async def session_pairing_code(self, session_id: str, code: str, expires_at: datetime) -> None: ...

    async def message_status(self, session_id: str, message_id: str, status: str, *,
                             reason: str | None = None, wa_message_id: str | None = None) -> None:
        """`wa_message_id`: WhatsApp's id of the message, with `sent` (replies and votes name it)."""

    async def inbound(self, session_id: str, *, wa_message_id: str, chat: str, sender: str, text: str | None,
                      type: str = "text", **content) -> None:
        """`content`: the parts `type` needs (media described, location, contact, reaction) and
        `reply_to_wa_message_id` (see `worker.message.inbound`)."""

    async def message_edited(self, session_id: str, *, text: str, wa_message_id: str | None = None,
                             message_id: str | None = None) -> None:
        """A received message by WhatsApp's id, or one the session sent by the platform's."""

    async def message_deleted(self, session_id: str, *, wa_message_id: str | None = None,
                              message_id: str | None = None) -> None: ...


class WorkerUplink:
    def __init__(self, broker: Publishing, worker_id: str):
        self.broker = broker
        self.worker_id = worker_id
        self.source = source_for(worker_id)

    def envelope(self, message_type: str, data: dict[str, Any]) -> Envelope:
        data = {"worker_id": self.worker_id, **data}
        return Envelope(type=message_type, source=self.source, data=contract_for(message_type).dump(data),
                        subject=data.get("session_id"))

    async def publish(self, message_type: str, data: dict[str, Any]) -> Envelope:
        envelope = self.envelope(message_type, data)
        await publish_uplink(self.broker, envelope)
        return envelope

    async def session_status(self, session_id: str, status: str, *, reason: str | None = None,
                             phone: str | None = None) -> None:
        await self.publish("worker.session.status",
                           {"session_id": session_id, "status": status, "reason": reason, "phone": phone})

    async def session_qr(self, session_id: str, qr: str, expires_at: datetime) -> None:
        await self.publish("worker.session.qr", {"session_id": session_id, "qr": qr, "expires_at": expires_at})

    async def session_pairing_code(self, session_id: str, code: str, expires_at: datetime) -> None:
        await self.publish("worker.session.pairing_code",
                           {"session_id": session_id, "code": code, "expires_at": expires_at})

    async def message_status(self, session_id: str, message_id: str, status: str, *, reason: str | None = None,
                             wa_message_id: str | None = None) -> None:
        await self.publish("worker.message.status", {"session_id": session_id, "message_id": message_id,
                                                     "status": status, "reason": reason, "at": utc_now(),
                                                     **({"wa_message_id": wa_message_id} if wa_message_id else {})})

    async def message_bounced(self, session_id: str, message_id: str, reason: str) -> None:
        await self.publish("worker.message.bounced",
                           {"session_id": session_id, "message_id": message_id, "reason": reason})

    async def inbound(self, session_id: str, *, wa_message_id: str, chat: str, sender: str, text: str | None,
                      type: str = "text", **content) -> None:
        await self.publish("worker.message.inbound", {"session_id": session_id, "wa_message_id": wa_message_id,
                                                      "chat": chat, "sender": sender, "type": type, "text": text,
                                                      **content, "at": utc_now()})

    async def message_edited(self, session_id: str, *, text: str, wa_message_id: str | None = None,
                             message_id: str | None = None) -> None:
        await self.publish("worker.message.edited", {"session_id": session_id, "wa_message_id": wa_message_id,
                                                     "message_id": message_id, "text": text, "at": utc_now()})

    async def message_deleted(self, session_id: str, *, wa_message_id: str | None = None,
                              message_id: str | None = None) -> None:
        await self.publish("worker.message.deleted", {"session_id": session_id, "wa_message_id": wa_message_id,
                                                      "message_id": message_id, "at": utc_now()})

    async def query_reply(self, reply_to: str, request_id: str, session_id: str, query: str, *,
                          result: dict[str, Any] | None = None, error: dict[str, str] | None = None) -> None:
        """The answer to a `worker.session.query`, to its asker (`reply_to`), naming its request."""
        envelope = self.envelope("worker.session.query.reply",
                                 {"session_id": session_id, "query": query, "result": result, "error": error})
        await publish_uplink(self.broker, envelope, reply_to=reply_to, request_id=request_id)
