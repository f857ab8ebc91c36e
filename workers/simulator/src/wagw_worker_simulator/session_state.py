"""A simulated session's state: its status, what it shows (QR, pairing code), what the contact's phone
shows of it, its timers; the timing the simulator plays WhatsApp with; the refusals of the control API."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_worker_sdk.uplink import Uplink


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


DEFAULT_TIMING = Timing()


@dataclass
class SimulatedSession:
    session_id: str
    status: SessionStatus = SessionStatus.CONNECTING
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


class SimulatorState:
    """What the parts of the simulated WhatsApp (`linking`, `phone`) use of the whole, `SimulatedWhatsApp`."""

    uplink: Uplink
    timing: Timing
    clock: Callable[[], datetime]
    sessions: dict[str, SimulatedSession]
    _held: Callable[[str], SimulatedSession]  # raises NotHeld
    _connected: Callable[[str], SimulatedSession]  # raises NotHeld, or WrongState unless CONNECTED
    _connect: Callable[[SimulatedSession], Awaitable[None]]
    _forget: Callable[[SimulatedSession], None]
    _cancel_tasks: Callable[[SimulatedSession], None]
