"""Simulated WhatsApp sessions: what a Baileys-based worker would do, minus WhatsApp.

A started session shows a QR (refreshed while nobody scans it, up to a limit) until the control
API "scans" it, or, started with a pairing phone, a pairing code until the control API "enters" it
on the phone; a restored one connects at once from its stored credentials. Sends produce
sent → delivered → read receipts. Everything is reported through an `Uplink` (the protocol)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from wagw_common.logging import get_logger
from wagw_common.storage import utc_now
from wagw_common.tasks import cancel_and_wait

from wagw_worker_sdk.uplink import Uplink

from .directory import SimulatedDirectory
from .fakes import DEFAULT_CONTACT, fake_phone, new_pairing_code, new_qr, new_wa_message_id

SENT_MEMORY = 50_000  # message ids remembered as sent, per worker process

log = get_logger(__name__)

CONNECTING, QR_REQUIRED, CONNECTED = "CONNECTING", "QR_REQUIRED", "CONNECTED"
DISCONNECTED, LOGGED_OUT = "DISCONNECTED", "LOGGED_OUT"


class NotHeld(LookupError):
    """This worker holds no such session."""


class WrongState(RuntimeError):
    """The session exists but cannot do that now."""


@dataclass(frozen=True)
class Timing:
    qr_ttl: float = 60.0
    qr_refresh: float = 20.0
    qr_max_refreshes: int = 5
    status_delay: float = 0.2
    auto_scan: float = 0.0  # 0: only the control API scans


@dataclass
class SimulatedSession:
    session_id: str
    status: str = CONNECTING
    qr: str | None = None
    qr_expires_at: datetime | None = None
    qr_refreshes: int = 0
    phone: str | None = None
    pairing_code: str | None = None
    chats_read: list[str] = field(default_factory=list)
    presence: dict[str, str] = field(default_factory=dict)  # chat (or "*", the session's own) -> the latest
    tasks: set[asyncio.Task] = field(default_factory=set, repr=False)

    def view(self) -> dict:
        expires = self.qr_expires_at.isoformat().replace("+00:00", "Z") if self.qr_expires_at else None
        return {"session_id": self.session_id, "status": self.status, "qr": self.qr, "qr_expires_at": expires,
                "phone": self.phone, "qr_refreshes": self.qr_refreshes, "pairing_code": self.pairing_code,
                "chats_read": list(self.chats_read), "presence": dict(self.presence)}


class SimulatedWhatsApp(SimulatedDirectory):
    def __init__(self, uplink: Uplink, timing: Timing = Timing(), *, clock: Callable[[], datetime] = utc_now):
        self.uplink = uplink
        self.timing = timing
        self.clock = clock
        self.sessions: dict[str, SimulatedSession] = {}
        self._receipts: set[asyncio.Task] = set()
        # Message ids already sent (the most recent ones): the platform routes at least once, so a
        # command may come again after a broker or network fault; WhatsApp must get it only once.
        self._sent: OrderedDict[str, str] = OrderedDict()  # message id -> WhatsApp's id of it

    # ---- what the protocol asks (WorkerHandler) ------------------------------------------------

    def held_sessions(self) -> list[dict[str, str]]:
        return [{"session_id": s.session_id, "status": s.status} for s in self.sessions.values()]

    async def start_session(self, session_id: str, *, restore: bool, pairing_phone: str | None = None) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            await self._announce_again(session)  # a repeated start (redelivery): say where we are
            return
        session = self.sessions[session_id] = SimulatedSession(session_id)
        await self.uplink.session_status(session_id, CONNECTING)
        if restore:
            await self._connect(session)  # stored credentials: no QR needed
            return
        if pairing_phone:
            await self._show_pairing_code(session)
            self._spawn_for(session, self._expire_pairing_code)
            return
        await self._show_qr(session)
        self._spawn_for(session, self._keep_qr_fresh)
        if self.timing.auto_scan > 0:
            self._spawn_for(session, self._scan_later)

    async def stop_session(self, session_id: str, *, logout: bool) -> None:
        status = LOGGED_OUT if logout else DISCONNECTED
        session = self.sessions.get(session_id)
        if session is not None:
            self._forget(session)
        # Reported even for a session we do not hold, so the platform converges either way.
        await self.uplink.session_status(session_id, status, reason="logged out" if logout else "stopped")

    async def send_message(self, session_id: str, message_id: str, to: str, text: str, **content) -> None:
        """Any message type (`content`: its media, location, contact, reaction) goes the same way here."""
        session = self.sessions.get(session_id)
        if session is None or session.status != CONNECTED:
            await self.uplink.message_status(session_id, message_id, "failed", reason="session not connected")
            return
        if message_id in self._sent:
            # Already sent: said again (the first report may be what was lost), not sent twice.
            await self.uplink.message_status(session_id, message_id, "sent", wa_message_id=self._sent[message_id])
            log.info("simulator.message_resend_dropped", session_id=session_id, message_id=message_id)
            return
        # "sent" before the command is acknowledged: a crash in between resends, never loses it.
        wa_message_id = new_wa_message_id()
        await self.uplink.message_status(session_id, message_id, "sent", wa_message_id=wa_message_id)
        self._sent[message_id] = wa_message_id
        while len(self._sent) > SENT_MEMORY:
            self._sent.popitem(last=False)
        log.info("simulator.message_sent", session_id=session_id, message_id=message_id)  # tests count sends
        task = asyncio.create_task(self._receipts_for(session_id, message_id))
        self._receipts.add(task)
        task.add_done_callback(self._receipts.discard)

    async def edit_message(self, session_id: str, message_id: str, chat: str, text: str) -> None:
        if self._sent_through(session_id, message_id, "edit"):
            await self.uplink.message_edited(session_id, text=text, message_id=message_id)

    async def revoke_message(self, session_id: str, message_id: str, chat: str) -> None:
        if self._sent_through(session_id, message_id, "revoke"):
            await self.uplink.message_deleted(session_id, message_id=message_id)

    async def mark_chat_read(self, session_id: str, chat: str) -> None:
        session = self.sessions.get(session_id)
        if session is not None and session.status == CONNECTED:
            session.chats_read.append(chat)  # shown by the control API, as the contact's phone would show it
            del session.chats_read[:-20]

    async def send_presence(self, session_id: str, presence: str, chat: str | None) -> None:
        session = self.sessions.get(session_id)
        if session is not None and session.status == CONNECTED:
            session.presence[chat or "*"] = presence  # "*": the session's own (available / unavailable)

    # ---- what the phone (the control API) does --------------------------------------------------

    async def scan(self, session_id: str) -> SimulatedSession:
        session = self._held(session_id)
        if session.status != QR_REQUIRED:
            raise WrongState(f"session is {session.status}, not waiting for a QR scan")
        await self._connect(session)
        return session

    async def enter_code(self, session_id: str, code: str) -> SimulatedSession:
        """The phone's owner types the pairing code in WhatsApp (Linked devices)."""
        session = self._held(session_id)
        if session.pairing_code is None:
            raise WrongState(f"session is {session.status}, not waiting for a pairing code")
        if code.replace("-", "").upper() != session.pairing_code.replace("-", ""):
            raise WrongState("that is not the session's pairing code")
        await self._connect(session)
        return session

    def preload(self, session_ids: list[str]) -> None:
        """Hold these sessions as connected without a word on the broker (a load test's starting fleet)."""
        for session_id in session_ids:
            self.sessions[session_id] = SimulatedSession(session_id, status=CONNECTED, phone=fake_phone(session_id))

    async def receive(self, session_id: str, *, text: str | None, chat: str | None = None, sender: str | None = None,
                      **content) -> str:
        """A message arrives from the contact (`content`: its type and the parts that type needs)."""
        self._connected(session_id)
        wa_message_id = new_wa_message_id()
        chat = chat or DEFAULT_CONTACT
        await self.uplink.inbound(session_id, wa_message_id=wa_message_id, chat=chat, sender=sender or chat, text=text,
                                  **content)
        return wa_message_id

    async def edit_received(self, session_id: str, wa_message_id: str, text: str) -> None:
        """The contact edits a message it sent."""
        self._connected(session_id)
        await self.uplink.message_edited(session_id, text=text, wa_message_id=wa_message_id)

    async def delete_received(self, session_id: str, wa_message_id: str) -> None:
        """The contact deletes a message it sent, for everyone."""
        self._connected(session_id)
        await self.uplink.message_deleted(session_id, wa_message_id=wa_message_id)

    async def drop(self, session_id: str) -> None:
        session = self._held(session_id)
        self._forget(session)
        await self.uplink.session_status(session_id, DISCONNECTED, reason="connection lost")

    def snapshot(self) -> list[dict]:
        return [s.view() for s in self.sessions.values()]

    async def close(self) -> None:
        await cancel_and_wait([t for s in self.sessions.values() for t in s.tasks] + list(self._receipts))

    # ---- inside -------------------------------------------------------------------------------

    def _held(self, session_id: str) -> SimulatedSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise NotHeld(session_id)
        return session

    def _sent_through(self, session_id: str, message_id: str, change: str) -> bool:
        """WhatsApp changes only a message this connection sent; anything else is refused, unconfirmed."""
        session = self.sessions.get(session_id)
        if session is None or session.status != CONNECTED or message_id not in self._sent:
            log.info("simulator.change_refused", change=change, session_id=session_id, message_id=message_id)
            return False
        return True

    def _connected(self, session_id: str) -> SimulatedSession:
        session = self._held(session_id)
        if session.status != CONNECTED:
            raise WrongState(f"session is {session.status}, not connected")
        return session

    async def _show_qr(self, session: SimulatedSession) -> None:
        session.qr = new_qr()
        session.qr_expires_at = self.clock() + timedelta(seconds=self.timing.qr_ttl)
        session.status = QR_REQUIRED
        await self.uplink.session_qr(session.session_id, session.qr, session.qr_expires_at)
        await self.uplink.session_status(session.session_id, QR_REQUIRED)

    async def _show_pairing_code(self, session: SimulatedSession) -> None:
        session.pairing_code = new_pairing_code()
        await self.uplink.session_pairing_code(session.session_id, session.pairing_code,
                                               self.clock() + timedelta(seconds=self.timing.qr_ttl))

    async def _expire_pairing_code(self, session: SimulatedSession) -> None:
        await asyncio.sleep(self.timing.qr_ttl)
        if self.sessions.get(session.session_id) is session and session.status != CONNECTED:
            self._forget(session)
            await self.uplink.session_status(session.session_id, DISCONNECTED, reason="pairing code expired")

    async def _connect(self, session: SimulatedSession) -> None:
        session.status, session.qr, session.qr_expires_at, session.pairing_code = CONNECTED, None, None, None
        session.phone = fake_phone(session.session_id)
        self._cancel_tasks(session)
        await self.uplink.session_status(session.session_id, CONNECTED, phone=session.phone)

    async def _announce_again(self, session: SimulatedSession) -> None:
        if session.status == QR_REQUIRED and session.qr is not None and session.qr_expires_at is not None:
            await self.uplink.session_qr(session.session_id, session.qr, session.qr_expires_at)
        elif session.pairing_code is not None:
            await self.uplink.session_pairing_code(session.session_id, session.pairing_code,
                                                   self.clock() + timedelta(seconds=self.timing.qr_ttl))
        await self.uplink.session_status(session.session_id, session.status, phone=session.phone)

    async def _keep_qr_fresh(self, session: SimulatedSession) -> None:
        while True:
            await asyncio.sleep(self.timing.qr_refresh)
            if self.sessions.get(session.session_id) is not session or session.status != QR_REQUIRED:
                return
            if session.qr_refreshes >= self.timing.qr_max_refreshes:
                self._forget(session)
                await self.uplink.session_status(session.session_id, DISCONNECTED, reason="qr timeout")
                return
            session.qr_refreshes += 1
            await self._show_qr(session)

    async def _scan_later(self, session: SimulatedSession) -> None:
        await asyncio.sleep(self.timing.auto_scan)
        if self.sessions.get(session.session_id) is session and session.status == QR_REQUIRED:
            await self._connect(session)

    async def _receipts_for(self, session_id: str, message_id: str) -> None:
        try:
            for status in ("delivered", "read"):
                await asyncio.sleep(self.timing.status_delay)
                await self.uplink.message_status(session_id, message_id, status)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # receipts are best effort, as on a real phone
            log.warning("simulator.receipt_failed", session_id=session_id, message_id=message_id, error=repr(exc))

    def _spawn_for(self, session: SimulatedSession, work: Callable[[SimulatedSession], Awaitable[None]]) -> None:
        task = asyncio.create_task(self._logged(session, work))
        session.tasks.add(task)
        task.add_done_callback(session.tasks.discard)

    @staticmethod
    async def _logged(session: SimulatedSession, work: Callable[[SimulatedSession], Awaitable[None]]) -> None:
        try:
            await work(session)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed report (broker away) must not go unnoticed
            log.warning("simulator.session_task_failed", session_id=session.session_id, error=repr(exc))

    def _cancel_tasks(self, session: SimulatedSession) -> None:
        current = asyncio.current_task()
        for task in list(session.tasks):
            if task is not current:
                task.cancel()

    def _forget(self, session: SimulatedSession) -> None:
        self._cancel_tasks(session)
        self.sessions.pop(session.session_id, None)
