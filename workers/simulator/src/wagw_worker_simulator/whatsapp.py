"""Simulated WhatsApp sessions: what a Baileys-based worker would do, minus WhatsApp.

The worker side (`WorkerHandler`) is here: start, stop, send (sent → delivered → read receipts),
edit, revoke, read, presence. A session links as `linking` says (QR, pairing code, stored
credentials); the phone's part, played through the control API, is in `phone`, the phone book and
groups the queries answer in `directory`. Everything is reported through an `Uplink` (the protocol)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime
from typing import Awaitable, Callable

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now
from wagw_common.tasks import cancel_and_wait

from wagw_worker_sdk.uplink import Uplink

from .directory import SimulatedDirectory
from .fakes import new_wa_message_id
from .linking import SimulatedLinking
from .phone import SimulatedPhone
from .session_state import DEFAULT_TIMING, NotHeld, SimulatedSession, Timing, WrongState

SENT_MEMORY = 50_000  # message ids remembered as sent, per worker process

log = get_logger(__name__)

__all__ = ["NotHeld", "SimulatedSession", "SimulatedWhatsApp", "Timing", "WrongState"]


class SimulatedWhatsApp(SimulatedLinking, SimulatedPhone, SimulatedDirectory):
    def __init__(self, uplink: Uplink, timing: Timing = DEFAULT_TIMING, *, clock: Callable[[], datetime] = utc_now):
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
        await self.uplink.session_status(session_id, SessionStatus.CONNECTING)
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
        status = SessionStatus.LOGGED_OUT if logout else SessionStatus.DISCONNECTED
        session = self.sessions.get(session_id)
        if session is not None:
            self._forget(session)
        # Reported even for a session we do not hold, so the platform converges either way.
        await self.uplink.session_status(session_id, status, reason="logged out" if logout else "stopped")

    async def send_message(self, session_id: str, message_id: str, to: str, text: str, **content) -> None:
        """Any message type (`content`: its media, location, contact, reaction) goes the same way here."""
        session = self.sessions.get(session_id)
        if session is None or session.status != SessionStatus.CONNECTED:
            await self.uplink.message_status(session_id, message_id, "failed", reason="session not connected")
            return
        if message_id in self._sent:
            # Already sent: said again (the first report may be what was lost), not sent twice.
            await self.uplink.message_status(session_id, message_id, "sent", wa_message_id=self._sent[message_id])
            log.info("simulator.message_resend_dropped", session_id=session_id, message_id=message_id)
            return
        # Sent first, then reported, as a real worker does: a report that fails (the broker away) is said
        # again by the command's retry under the same id, not sent again. "sent" is reported before the
        # command is acknowledged: a crash in between resends, never loses it.
        wa_message_id = new_wa_message_id()
        self._sent[message_id] = wa_message_id
        while len(self._sent) > SENT_MEMORY:
            self._sent.popitem(last=False)
        log.info("simulator.message_sent", session_id=session_id, message_id=message_id)  # tests count sends
        try:
            await self.uplink.message_status(session_id, message_id, "sent", wa_message_id=wa_message_id)
        finally:  # the recipient's phone answers a message it got, whatever became of our report
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
        if session is not None and session.status == SessionStatus.CONNECTED:
            session.chats_read.append(chat)  # shown by the control API, as the contact's phone would show it
            del session.chats_read[:-20]

    async def send_presence(self, session_id: str, presence: str, chat: str | None) -> None:
        session = self.sessions.get(session_id)
        if session is not None and session.status == SessionStatus.CONNECTED:
            session.presence[chat or "*"] = presence  # "*": the session's own (available / unavailable)

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
        if session is None or session.status != SessionStatus.CONNECTED or message_id not in self._sent:
            log.info("simulator.change_refused", change=change, session_id=session_id, message_id=message_id)
            return False
        return True

    def _connected(self, session_id: str) -> SimulatedSession:
        session = self._held(session_id)
        if session.status != SessionStatus.CONNECTED:
            raise WrongState(f"session is {session.status}, not connected")
        return session

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
