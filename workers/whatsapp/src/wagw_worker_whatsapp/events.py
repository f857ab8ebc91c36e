"""What a session's client reports, told to the platform through the worker protocol: one handler per
event type in one table, so a new event is one entry. Inbound messages of a type the contracts do not
carry yet are logged and skipped (`INBOUND_TYPES`), never sent malformed; a received file is stored
before its message is reported (`received_media`)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable, cast

from marshmallow.validate import OneOf
from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.contracts.workers import WorkerInboundMessage
from wagw_common.logging import get_logger

from .client import (ClientEvent, Connected, ConnectionFailed, InboundMessage, LoggedOut, PairSucceeded, QrShown,
                     Receipt, ReceivedDeleted, ReceivedEdited, StreamReplaced, TemporarilyDisconnected)
from .received_media import with_stored_media

if TYPE_CHECKING:
    from .sessions import WhatsAppSessions

log = get_logger(__name__)
# The inbound message types `worker.message.inbound` accepts today, read from its contract.
INBOUND_TYPES = frozenset(cast(OneOf, WorkerInboundMessage().fields["type"].validate).choices)


class EventReporter:
    def __init__(self, sessions: WhatsAppSessions):
        self.sessions = sessions
        self.uplink = sessions.uplink
        # Keyed by the event's class, so each handler is only ever called with its own kind of event.
        self._table: dict[type, Callable[[str, Any], Awaitable[None]]] = {
            QrShown: self._qr, PairSucceeded: self._paired, Connected: self._connected, LoggedOut: self._logged_out,
            StreamReplaced: self._replaced, TemporarilyDisconnected: self._dropped, ConnectionFailed: self._failed,
            Receipt: self._receipt,
            InboundMessage: self._inbound, ReceivedEdited: self._edited, ReceivedDeleted: self._deleted,
        }

    async def report(self, session_id: str, event: ClientEvent) -> None:
        if session_id not in self.sessions.sessions:
            log.info("whatsapp.event_of_unheld_session", session_id=session_id, event=type(event).__name__)
            return
        try:
            await self._table[type(event)](session_id, event)
        except Exception as exc:  # an event's failure (broker away) is logged, never thrown into the library
            log.warning("whatsapp.event_report_failed", session_id=session_id, event=type(event).__name__,
                        error=repr(exc))

    def _set(self, session_id: str, status: SessionStatus, phone: str | None = None) -> None:
        held = self.sessions.sessions[session_id]
        held.status = status
        held.phone = phone or held.phone

    async def _qr(self, session_id: str, event: QrShown) -> None:
        if self.sessions.sessions[session_id].pairing:
            return
        first = self.sessions.sessions[session_id].status != SessionStatus.QR_REQUIRED
        self._set(session_id, SessionStatus.QR_REQUIRED)
        expires_at = self.sessions.clock() + timedelta(seconds=event.ttl_seconds)
        await self.uplink.session_qr(session_id, event.code, expires_at)
        if first:
            await self.uplink.session_status(session_id, SessionStatus.QR_REQUIRED)

    async def _paired(self, session_id: str, event: PairSucceeded) -> None:
        self._set(session_id, SessionStatus.CONNECTING, event.phone)  # whatsmeow reconnects, then reports Connected
        await self.uplink.session_status(session_id, SessionStatus.CONNECTING, phone=event.phone)

    async def _connected(self, session_id: str, event: Connected) -> None:
        self._set(session_id, SessionStatus.CONNECTED, event.phone)
        phone = self.sessions.sessions[session_id].phone
        await self.uplink.session_status(session_id, SessionStatus.CONNECTED, phone=phone)

    async def _logged_out(self, session_id: str, event: LoggedOut) -> None:
        await self.sessions.forget(session_id, logged_out=True)
        await self.uplink.session_status(session_id, SessionStatus.LOGGED_OUT, reason=event.reason)

    async def _replaced(self, session_id: str, _event: StreamReplaced) -> None:
        await self.sessions.forget(session_id, logged_out=False)
        await self.uplink.session_status(session_id, SessionStatus.DISCONNECTED,
                                         reason="stream replaced: the same device connected elsewhere")

    async def _dropped(self, session_id: str, _event: TemporarilyDisconnected) -> None:
        self._set(session_id, SessionStatus.RECONNECTING)
        await self.uplink.session_status(session_id, SessionStatus.RECONNECTING, reason="connection lost")

    async def _failed(self, session_id: str, event: ConnectionFailed) -> None:
        await self.sessions.forget(session_id, logged_out=False)
        await self.uplink.session_status(session_id, SessionStatus.DISCONNECTED, reason=event.reason[:500])

    async def _receipt(self, session_id: str, event: Receipt) -> None:
        for wa_message_id in event.wa_message_ids:
            message_id = self.sessions.platform_message_id(wa_message_id)
            if message_id is None:  # a receipt for a message sent from the phone itself
                continue
            await self.uplink.message_status(session_id, message_id, event.status)

    async def _inbound(self, session_id: str, event: InboundMessage) -> None:
        if event.type not in INBOUND_TYPES:
            log.info("whatsapp.inbound_type_not_in_contract", session_id=session_id, type=event.type,
                     wa_message_id=event.wa_message_id)
            return
        parts = await with_stored_media(self.sessions.media, session_id, event)
        await self.uplink.inbound(session_id, wa_message_id=event.wa_message_id, chat=event.chat,
                                  sender=event.sender, text=event.text or None, type=event.type, **parts)

    async def _edited(self, session_id: str, event: ReceivedEdited) -> None:
        await self.uplink.message_edited(session_id, text=event.text, wa_message_id=event.wa_message_id)

    async def _deleted(self, session_id: str, event: ReceivedDeleted) -> None:
        await self.uplink.message_deleted(session_id, wa_message_id=event.wa_message_id)
