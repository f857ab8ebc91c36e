"""What the phone does, played through the control API: scan the QR, enter the pairing code, write,
edit and delete messages as the contact, drop the connection. Mixed into `SimulatedWhatsApp` (its
`uplink`, `sessions`, `_held`, `_connected`, `_connect`, `_forget`)."""

from __future__ import annotations

from wagw_common.contracts.session_statuses import SessionStatus

from .fakes import DEFAULT_CONTACT, fake_phone, new_wa_message_id
from .session_state import SimulatedSession, SimulatorState, WrongState


class SimulatedPhone(SimulatorState):
    async def scan(self, session_id: str) -> SimulatedSession:
        session = self._held(session_id)
        if session.status != SessionStatus.QR_REQUIRED:
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
            self.sessions[session_id] = SimulatedSession(session_id, status=SessionStatus.CONNECTED,
                                                         phone=fake_phone(session_id))

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
        await self.uplink.session_status(session_id, SessionStatus.DISCONNECTED, reason="connection lost")

    def snapshot(self) -> list[dict]:
        return [s.view() for s in self.sessions.values()]
