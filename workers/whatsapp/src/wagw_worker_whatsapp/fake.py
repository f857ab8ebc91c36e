"""A fake WhatsApp behind the worker's `WhatsAppClient` interface, for tests and for running the
worker without a phone (`WHATSAPP_CLIENT=fake`). Its credentials live in a directory (a file per
linked session) so that, like the real store, they outlive a worker and are found by another one.
The `FakeWhatsApp` methods play the phone: scan a QR, enter a pairing code, write, unlink."""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .client import (Connected, EventSink, InboundMessage, LoggedOut, Outbound, PairingRefused, PairSucceeded, QrShown,
                     Receipt, ReceivedDeleted, ReceivedEdited, SendRefused, StreamReplaced, TemporarilyDisconnected)
from .fake_directory import FakeDirectory, fake_phone

FAKE_PAIRING_CODE = "FAKE-CODE"
__all__ = ["FAKE_PAIRING_CODE", "FakeClient", "FakeWhatsApp", "fake_phone"]


@dataclass
class SentMessage:
    session_id: str
    to: str
    message: Outbound
    wa_message_id: str


@dataclass
class FakeWhatsApp:
    """The fake's shared world: credentials on disk, what was sent, the open clients."""

    store: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fake-wa-")))
    auto_scan: bool = False
    auto_receipts: bool = True
    # A phone's pace between delivered and read, as the simulator's: back to back, the platform could
    # handle them in either order and keep only the later status.
    receipt_delay: float = 0.2
    refuse: str | None = None  # every send refused with this reason
    refuse_pairing: str | None = None  # every pairing code refused with this reason
    store_down: bool = False  # connecting fails as with an unreachable credential store
    sent: list[SentMessage] = field(default_factory=list)
    # What the contacts' phones show besides messages, by session: ("edited", id, text), ("revoked", id),
    # ("read", chat), ("presence", presence, chat).
    shown: dict[str, list[tuple]] = field(default_factory=dict)
    clients: dict[str, "FakeClient"] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)  # by session: see `fake_directory`
    tasks: set = field(default_factory=set)  # what the phone does a moment later (scans, receipts)

    def later(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def open(self, session_id: str, on_event: EventSink) -> "FakeClient":
        client = FakeClient(self, session_id, on_event)
        self.clients[session_id] = client
        return client

    # ---- the phone ------------------------------------------------------------------------------

    async def scan(self, session_id: str) -> None:
        await self.clients[session_id].linked()

    async def enter_code(self, session_id: str, code: str) -> None:
        client = self.clients[session_id]
        if code != client.pairing_code:
            raise ValueError("not the pairing code shown")
        await client.linked()

    async def write(self, session_id: str, text: str | None, *, chat: str, sender: str | None = None,
                    wa_message_id: str = "3A0000000000000000FA", type: str = "text", **parts) -> None:
        """The contact sends a message: `parts` as `InboundMessage.parts` (media described, a reply...)."""
        await self.clients[session_id].emit(InboundMessage(wa_message_id, chat, sender or chat, type, text or "",
                                                           parts))

    async def send_file(self, session_id: str, data: bytes, *, chat: str, type: str = "image", text: str | None = None,
                        mimetype: str = "application/octet-stream", filename: str | None = None, ptt: bool = False,
                        wa_message_id: str = "3A0000000000000000FB") -> None:
        """The contact sends a file: described as WhatsApp describes it, its bytes fetched when asked."""
        media = {"mimetype": mimetype, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                 "filename": filename, "ptt": ptt}

        async def fetch() -> bytes:
            return data
        await self.clients[session_id].emit(InboundMessage(wa_message_id, chat, chat, type, text or "",
                                                           {"media": media}, fetch=fetch))

    async def edit_written(self, session_id: str, wa_message_id: str, text: str) -> None:
        await self.clients[session_id].emit(ReceivedEdited(wa_message_id, text))

    async def delete_written(self, session_id: str, wa_message_id: str) -> None:
        await self.clients[session_id].emit(ReceivedDeleted(wa_message_id))

    async def unlink(self, session_id: str) -> None:
        self.credentials(session_id).unlink(missing_ok=True)
        await self.clients[session_id].emit(LoggedOut("unlinked from the phone"))

    async def replace_stream(self, session_id: str) -> None:
        await self.clients[session_id].emit(StreamReplaced())

    async def drop(self, session_id: str) -> None:
        client = self.clients[session_id]
        await client.emit(TemporarilyDisconnected())
        await client.emit(Connected(fake_phone(session_id)))

    def credentials(self, session_id: str) -> Path:
        return self.store / f"{session_id}.json"


class FakeClient(FakeDirectory):
    def __init__(self, world: FakeWhatsApp, session_id: str, on_event: EventSink):
        self.world = world
        self.session_id = session_id
        self.emit = on_event
        self.connected = False
        self.pairing_code: str | None = None

    async def has_credentials(self) -> bool:
        return self.world.credentials(self.session_id).exists()

    async def connect(self) -> None:
        if self.world.store_down:
            raise ConnectionError("credential store unreachable")
        self.connected = True
        if await self.has_credentials():
            await self.emit(Connected(json.loads(self.world.credentials(self.session_id).read_text())["phone"]))
        elif self.world.auto_scan:
            self.world.later(self.linked())
        else:
            await self.emit(QrShown(f"fake-qr:{self.session_id}", 60))

    async def pair_phone(self, phone: str) -> str:
        if self.world.refuse_pairing:
            raise PairingRefused(self.world.refuse_pairing)
        self.pairing_code = FAKE_PAIRING_CODE
        return self.pairing_code

    async def linked(self) -> None:
        phone = fake_phone(self.session_id)
        self.world.store.mkdir(parents=True, exist_ok=True)
        self.world.credentials(self.session_id).write_text(json.dumps({"phone": phone}))
        await self.emit(PairSucceeded(phone))
        await self.emit(Connected(phone))

    async def send(self, to: str, message: Outbound, wa_message_id: str) -> str:
        if not self.connected:
            raise ConnectionError("not connected")
        if self.world.refuse:
            raise SendRefused(self.world.refuse)
        self.world.sent.append(SentMessage(self.session_id, to, message, wa_message_id))
        if self.world.auto_receipts:
            self.world.later(self._receipts(wa_message_id))
        return wa_message_id

    async def _receipts(self, wa_message_id: str) -> None:
        for status in ("delivered", "read"):
            await asyncio.sleep(self.world.receipt_delay)
            await self.emit(Receipt((wa_message_id,), status))

    async def edit(self, chat: str, wa_message_id: str, text: str) -> None:
        self._change(wa_message_id, ("edited", wa_message_id, text))

    async def revoke(self, chat: str, wa_message_id: str) -> None:
        self._change(wa_message_id, ("revoked", wa_message_id))

    async def mark_read(self, chat: str) -> None:
        self._show(("read", chat))

    async def send_presence(self, presence: str, chat: str | None) -> None:
        self._show(("presence", presence, chat))

    def _change(self, wa_message_id: str, shown: tuple) -> None:
        if not any(m.session_id == self.session_id and m.wa_message_id == wa_message_id for m in self.world.sent):
            raise SendRefused("not a message this session sent")  # as WhatsApp refuses it
        self._show(shown)

    def _show(self, shown: tuple) -> None:
        if not self.connected:
            raise ConnectionError("not connected")
        self.world.shown.setdefault(self.session_id, []).append(shown)

    async def disconnect(self) -> None:
        self.connected = False

    async def logout(self) -> None:
        self.connected = False
        self.world.credentials(self.session_id).unlink(missing_ok=True)
