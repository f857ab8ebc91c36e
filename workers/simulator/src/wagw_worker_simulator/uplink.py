"""What a worker publishes: each message checked against its contract first, always carrying the
worker's id, sent to the uplink exchange with the message type as routing key."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from wagw_common import topology
from wagw_common.broker import Broker
from wagw_common.storage import utc_now


class Uplink(Protocol):
    """The reports a worker implementation makes about its sessions and messages."""

    async def session_status(self, session_id: str, status: str, *, reason: str | None = None,
                             phone: str | None = None) -> None: ...

    async def session_qr(self, session_id: str, qr: str, expires_at: datetime) -> None: ...

    async def message_status(self, session_id: str, message_id: str, status: str, *,
                             reason: str | None = None) -> None: ...

    async def inbound(self, session_id: str, *, wa_message_id: str, chat: str, sender: str, text: str) -> None: ...


class WorkerUplink:
    def __init__(self, broker: Broker, worker_id: str):
        self.broker = broker
        self.worker_id = worker_id

    async def publish(self, message_type: str, data: dict[str, Any]) -> None:
        data = {"worker_id": self.worker_id, **data}
        envelope = self.broker.envelope(message_type, data, subject=data.get("session_id"))
        # Mandatory: an uplink nobody listens to is an error worth seeing, not a silent drop.
        await self.broker.publish(envelope, exchange=topology.WORKER_UPLINK, routing_key=message_type)

    async def session_status(self, session_id: str, status: str, *, reason: str | None = None,
                             phone: str | None = None) -> None:
        await self.publish("worker.session.status",
                           {"session_id": session_id, "status": status, "reason": reason, "phone": phone})

    async def session_qr(self, session_id: str, qr: str, expires_at: datetime) -> None:
        await self.publish("worker.session.qr", {"session_id": session_id, "qr": qr, "expires_at": expires_at})

    async def message_status(self, session_id: str, message_id: str, status: str, *, reason: str | None = None) -> None:
        await self.publish("worker.message.status", {"session_id": session_id, "message_id": message_id,
                                                     "status": status, "reason": reason, "at": utc_now()})

    async def inbound(self, session_id: str, *, wa_message_id: str, chat: str, sender: str, text: str) -> None:
        await self.publish("worker.message.inbound", {"session_id": session_id, "wa_message_id": wa_message_id,
                                                      "chat": chat, "sender": sender, "type": "text", "text": text,
                                                      "at": utc_now()})
