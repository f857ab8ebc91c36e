"""Linking a simulated session: the QR shown (refreshed while nobody scans it, up to a limit), or the
pairing code, until the phone scans or enters it, or the session connects at once from its stored
credentials. Mixed into `SimulatedWhatsApp` (its `uplink`, `timing`, `clock`, `sessions`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from wagw_common.contracts.session_statuses import SessionStatus

from .fakes import fake_phone, new_pairing_code, new_qr
from .session_state import SimulatedSession, SimulatorState


class SimulatedLinking(SimulatorState):
    async def _show_qr(self, session: SimulatedSession) -> None:
        session.qr = new_qr()
        session.qr_expires_at = self.clock() + timedelta(seconds=self.timing.qr_ttl)
        session.status = SessionStatus.QR_REQUIRED
        await self.uplink.session_qr(session.session_id, session.qr, session.qr_expires_at)
        await self.uplink.session_status(session.session_id, SessionStatus.QR_REQUIRED)

    async def _show_pairing_code(self, session: SimulatedSession) -> None:
        session.pairing_code = new_pairing_code()
        await self.uplink.session_pairing_code(session.session_id, session.pairing_code,
                                               self.clock() + timedelta(seconds=self.timing.qr_ttl))

    async def _expire_pairing_code(self, session: SimulatedSession) -> None:
        await asyncio.sleep(self.timing.qr_ttl)
        if self.sessions.get(session.session_id) is session and session.status != SessionStatus.CONNECTED:
            self._forget(session)
            await self.uplink.session_status(session.session_id, SessionStatus.DISCONNECTED,
                                             reason="pairing code expired")

    async def _connect(self, session: SimulatedSession) -> None:
        session.status = SessionStatus.CONNECTED
        session.qr, session.qr_expires_at, session.pairing_code = None, None, None
        session.phone = fake_phone(session.session_id)
        self._cancel_tasks(session)
        await self.uplink.session_status(session.session_id, SessionStatus.CONNECTED, phone=session.phone)

    async def _announce_again(self, session: SimulatedSession) -> None:
        if session.status == SessionStatus.QR_REQUIRED and session.qr is not None and session.qr_expires_at is not None:
            await self.uplink.session_qr(session.session_id, session.qr, session.qr_expires_at)
        elif session.pairing_code is not None:
            await self.uplink.session_pairing_code(session.session_id, session.pairing_code,
                                                   self.clock() + timedelta(seconds=self.timing.qr_ttl))
        await self.uplink.session_status(session.session_id, session.status, phone=session.phone)

    async def _keep_qr_fresh(self, session: SimulatedSession) -> None:
        while True:
            await asyncio.sleep(self.timing.qr_refresh)
            if self.sessions.get(session.session_id) is not session or session.status != SessionStatus.QR_REQUIRED:
                return
            if session.qr_refreshes >= self.timing.qr_max_refreshes:
                self._forget(session)
                await self.uplink.session_status(session.session_id, SessionStatus.DISCONNECTED, reason="qr timeout")
                return
            session.qr_refreshes += 1
            await self._show_qr(session)

    async def _scan_later(self, session: SimulatedSession) -> None:
        await asyncio.sleep(self.timing.auto_scan)
        if self.sessions.get(session.session_id) is session and session.status == SessionStatus.QR_REQUIRED:
            await self._connect(session)
