"""Shared by the simulator's tests: an in-memory uplink recording what the simulated
sessions report (the protocol's place in unit tests)."""

import asyncio

import pytest


class FakeUplink:
    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self.changed = asyncio.Event()

    def _record(self, *item) -> None:
        self.sent.append(item)
        self.changed.set()

    async def session_status(self, session_id, status, *, reason=None, phone=None):
        self._record("status", session_id, status, reason, phone)

    async def session_qr(self, session_id, qr, expires_at):
        self._record("qr", session_id, qr, expires_at)

    async def message_status(self, session_id, message_id, status, *, reason=None):
        self._record("message", session_id, message_id, status, reason)

    async def inbound(self, session_id, *, wa_message_id, chat, sender, text):
        self._record("inbound", session_id, wa_message_id, chat, sender, text)

    def kinds(self) -> list[str]:
        """What was reported, compactly: 'status:CONNECTING', 'qr', 'message:sent', 'inbound'."""
        return [f"{k}:{rest[1]}" if k == "status" else f"{k}:{rest[2]}" if k == "message" else k
                for k, *rest in self.sent]

    async def wait_for(self, count: int, timeout: float = 2.0) -> None:
        async def enough():
            while len(self.sent) < count:
                self.changed.clear()
                await self.changed.wait()
        await asyncio.wait_for(enough(), timeout)


@pytest.fixture
def uplink() -> FakeUplink:
    return FakeUplink()
