"""The WhatsApp worker's sessions (the SDK's `WorkerHandler`): one `WhatsAppClient` per held session,
commands turned into client calls, and the client's events reported through the worker protocol.

Credentials live in the shared store, not here: a session restored on another worker (failover)
connects from what this one stored. Message ids are derived from the platform's (`ids`), so a send
repeated on any worker is the same message to WhatsApp."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from wagw_worker_sdk import MediaStorage
from wagw_worker_sdk.uplink import Uplink

from .client import ClientFactory, PairingRefused, SendRefused, WhatsAppClient
from .events import EventReporter
from .ids import message_id_for, wa_message_id_for
from .outbound import outbound_from_command
from .queries import WhatsAppQueries

log = get_logger(__name__)
SENT_MEMORY = 50_000  # message ids remembered as sent (and library-chosen ids), per worker process
# Announced with a pairing code: whatsmeow keeps the link attempt open for its QR phase (60 s + 5 × 20 s).
PAIRING_CODE_TTL_SECONDS = 160


@dataclass
class HeldSession:
    session_id: str
    client: WhatsAppClient
    status: SessionStatus = SessionStatus.CONNECTING
    phone: str | None = None
    # Linking by pairing code: whatsmeow still emits QR codes meanwhile, which the platform must not show.
    pairing: bool = False


class WhatsAppSessions(WhatsAppQueries):
    """`media`: where received files are stored before they are reported (None: described only)."""

    def __init__(self, uplink: Uplink, factory: ClientFactory, *, media: MediaStorage | None = None,
                 clock: Callable = utc_now):
        self.uplink = uplink
        self.factory = factory
        self.media = media
        self.clock = clock
        self.sessions: dict[str, HeldSession] = {}
        self._sent: OrderedDict[str, None] = OrderedDict()
        # WhatsApp id → platform id, for sends where the library chose the id itself.
        self._chosen_ids: OrderedDict[str, str] = OrderedDict()
        self.events = EventReporter(self)

    # ---- what the protocol asks (WorkerHandler) ------------------------------------------------

    def held_sessions(self) -> list[dict[str, str]]:
        return [{"session_id": s.session_id, "status": s.status} for s in self.sessions.values()]

    async def start_session(self, session_id: str, *, restore: bool, pairing_phone: str | None = None) -> None:
        held = self.sessions.get(session_id)
        if held is not None:  # a repeated start (redelivery): say where we are
            await self.uplink.session_status(session_id, held.status, phone=held.phone)
            return
        client = self.factory.open(session_id, lambda event: self.events.report(session_id, event))
        if restore and not await client.has_credentials():
            await self.uplink.session_status(session_id, SessionStatus.LOGGED_OUT,
                                             reason="no stored credentials to restore")
            return
        pairing = bool(pairing_phone) and not restore
        self.sessions[session_id] = HeldSession(session_id, client, pairing=pairing)
        await self.uplink.session_status(session_id, SessionStatus.CONNECTING)
        try:
            await client.connect()
            if pairing and pairing_phone:
                code = await client.pair_phone(pairing_phone.lstrip("+"))
                await self.uplink.session_pairing_code(
                    session_id, code, self.clock() + timedelta(seconds=PAIRING_CODE_TTL_SECONDS))
        except PairingRefused as exc:
            await self.forget(session_id, logged_out=False)
            await self.uplink.session_status(session_id, SessionStatus.DISCONNECTED,
                                             reason=f"pairing refused: {exc}"[:500])
            return
        except Exception:
            # Not held after all: the command's retry (or the next start) begins afresh.
            self.sessions.pop(session_id, None)
            raise
        log.info("whatsapp.session_started", session_id=session_id, restore=restore, pairing=bool(pairing_phone))

    async def stop_session(self, session_id: str, *, logout: bool) -> None:
        held = self.sessions.pop(session_id, None)
        client = held.client if held is not None else None
        if logout and client is None:
            # Held nowhere (its worker died): unlink from the stored credentials all the same.
            client = self.factory.open(session_id, self._ignore)
            if not await client.has_credentials():
                client = None
        if client is not None:
            await (client.logout() if logout else client.disconnect())
        # Reported even for a session we do not hold, so the platform converges either way.
        await self.uplink.session_status(session_id, SessionStatus.LOGGED_OUT if logout else SessionStatus.DISCONNECTED,
                                         reason="logged out" if logout else "stopped")

    async def send_message(self, session_id: str, message_id: str, to: str, text: str, **content) -> None:
        held = self.sessions.get(session_id)
        if held is None or held.status != SessionStatus.CONNECTED:
            await self.uplink.message_status(session_id, message_id, "failed", reason="session not connected")
            return
        wa_message_id = wa_message_id_for(message_id)
        if message_id in self._sent:  # said again (the first report may be what was lost), not sent twice
            await self.uplink.message_status(session_id, message_id, "sent", wa_message_id=wa_message_id)
            return
        try:
            used = await held.client.send(to, outbound_from_command(text, content), wa_message_id)
        except SendRefused as exc:
            await self.uplink.message_status(session_id, message_id, "failed", reason=str(exc)[:500])
            return
        if used != wa_message_id:
            self._remember(self._chosen_ids, used, message_id)
        self._remember(self._sent, message_id, None)
        # Logged once sent, before the report: a report that fails is said again by the command's retry.
        log.info("whatsapp.message_sent", session_id=session_id, message_id=message_id, wa_message_id=used)
        # "sent" before the command is acknowledged: a crash in between resends the same id. The id told is
        # the derived one: the adapter names our messages by it in everything it reports (replies, votes).
        await self.uplink.message_status(session_id, message_id, "sent", wa_message_id=wa_message_id)

    async def edit_message(self, session_id: str, message_id: str, chat: str, text: str) -> None:
        client = self._connected_client(session_id, "edit", message_id)
        if client is not None and await self._refusable(client.edit(chat, wa_message_id_for(message_id), text),
                                                        session_id, message_id):
            await self.uplink.message_edited(session_id, text=text, message_id=message_id)

    async def revoke_message(self, session_id: str, message_id: str, chat: str) -> None:
        client = self._connected_client(session_id, "revoke", message_id)
        if client is not None and await self._refusable(client.revoke(chat, wa_message_id_for(message_id)),
                                                        session_id, message_id):
            await self.uplink.message_deleted(session_id, message_id=message_id)

    async def mark_chat_read(self, session_id: str, chat: str) -> None:
        client = self._connected_client(session_id, "read")
        if client is not None:
            await client.mark_read(chat)

    async def send_presence(self, session_id: str, presence: str, chat: str | None) -> None:
        client = self._connected_client(session_id, "presence")
        if client is not None:
            await client.send_presence(presence, chat)

    # ---- what the events module needs -----------------------------------------------------------

    def platform_message_id(self, wa_message_id: str) -> str | None:
        return message_id_for(wa_message_id) or self._chosen_ids.get(wa_message_id)

    async def forget(self, session_id: str, *, logged_out: bool) -> None:
        held = self.sessions.pop(session_id, None)
        if held is not None and not logged_out:
            await held.client.disconnect()

    async def close(self) -> None:
        """Disconnect every session and keep its credentials: the sessions move to other workers."""
        for session_id in list(self.sessions):
            try:
                await self.forget(session_id, logged_out=False)
            except Exception as exc:  # one stuck client must not keep the others connected
                log.warning("whatsapp.disconnect_failed", session_id=session_id, error=repr(exc))

    # ---- inside -------------------------------------------------------------------------------

    def _connected_client(self, session_id: str, action: str, message_id: str | None = None) -> WhatsAppClient | None:
        """The session's client, or None (logged) when it is not connected: the orchestrator refuses these
        changes for a session not connected, so one found here raced a disconnect, and there is no status to
        report; history stays as it was, which is what the customer sees."""
        held = self.sessions.get(session_id)
        if held is not None and held.status == SessionStatus.CONNECTED:
            return held.client
        log.warning("whatsapp.change_of_unconnected_session", session_id=session_id, action=action,
                    message_id=message_id)
        return None

    @staticmethod
    async def _refusable(change, session_id: str, message_id: str) -> bool:
        """An edit or a revoke WhatsApp refused (too late, not ours) is logged; history keeps the message."""
        try:
            await change
        except SendRefused as exc:
            log.warning("whatsapp.change_refused", session_id=session_id, message_id=message_id, reason=str(exc))
            return False
        return True

    @staticmethod
    def _remember(memory: OrderedDict, key: str, value) -> None:
        memory[key] = value
        while len(memory) > SENT_MEMORY:
            memory.popitem(last=False)

    @staticmethod
    async def _ignore(_event) -> None:
        return None
