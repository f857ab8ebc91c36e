"""The `WhatsAppClient` interface on neonize's asyncio client (whatsmeow underneath): the only module
that calls the library. Its events and messages are translated by `neonize_mapping`.

Building what is sent is `neonize_outbound`'s. One limit of neonize 0.5.2: its `SendMessage` passes no
`SendRequestExtra`, so the WhatsApp message id
cannot be chosen. The adapter hides it: it records which id whatsmeow used for each derived id in the
shared store (`devices.StoreTables`), sends a message once per derived id whichever worker is asked
again, and translates both ways (receipts back to derived ids, reaction and reply targets to
whatsmeow's), so the rest of the worker sees derived ids only. What it cannot close: a crash between
WhatsApp's acceptance and the record (docs/workers.md, "The WhatsApp worker")."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import replace
from typing import Any

from wagw_common.logging import get_logger

from . import neonize_mapping as mapping  # first: it runs the no-download checks of `library`
from . import neonize_inbound as inbound
from . import neonize_outbound as outbound
from .client import (ClientEvent, ConnectionFailed, EventSink, InboundMessage, Outbound, PairingRefused, QrShown,
                     Receipt, SendRefused)
from .devices import StoreTables
from .ids import message_id_for
from .library import load_neonize
from .neonize_mapping import jid_of
from .neonize_queries import NeonizeDirectory
from .sent_ids import actual_id, derived_id

aio = load_neonize()
from neonize.aioze import events as aio_events  # noqa: E402
from neonize.exc import PairPhoneError, SendMessageError  # noqa: E402
from neonize.utils.enum import ReceiptType  # noqa: E402

log = get_logger(__name__)
FIRST_QR_TTL, NEXT_QR_TTL = 60.0, 20.0  # whatsmeow's QR channel: the first code lasts longer
EVENTS = (aio_events.PairStatusEv, aio_events.ConnectedEv, aio_events.LoggedOutEv, aio_events.StreamReplacedEv,
          aio_events.DisconnectedEv, aio_events.ReceiptEv, aio_events.MessageEv)
UNREAD_MEMORY = 1000  # received message ids kept per chat until it is marked read


class NeonizeClientFactory:
    def __init__(self, store: str, devices: StoreTables):
        self.store = store  # a SQLite file or a PostgreSQL URL: whatsmeow's own tables live there
        self.devices = devices

    def open(self, session_id: str, on_event: EventSink) -> "NeonizeClient":
        return NeonizeClient(self, session_id, on_event)


class NeonizeClient(NeonizeDirectory):
    def __init__(self, factory: NeonizeClientFactory, session_id: str, on_event: EventSink):
        self.factory = factory
        self.session_id = session_id
        self.emit = on_event
        self.client: Any = None
        self._qr_count = 0
        self._reports: set[asyncio.Task] = set()
        # chat (as reported) → what was received since it was last marked read: (chat JID, sender JID, id).
        # Kept by this process only: after a failover, a read marks what arrived since.
        self._unread: dict[str, list[tuple[Any, Any, str]]] = {}

    async def has_credentials(self) -> bool:
        return await self.factory.devices.find(self.session_id) is not None

    async def connect(self) -> None:
        stored = await self.factory.devices.find(self.session_id)
        jid = mapping.ev.JID.FromString(bytes.fromhex(stored)) if stored else None
        self.client = aio.NewAClient(self.factory.store, jid=jid, uuid=self.session_id, new_device=jid is None)
        self.client.event.qr(self._on_qr)
        for event_type in EVENTS:
            self.client.event(event_type)(self._on_library_event)
        task = await self.client.connect()
        task.add_done_callback(self._connection_ended)

    async def pair_phone(self, phone: str) -> str:
        try:
            return await self.client.PairPhone(phone, show_push_notification=True)
        except PairPhoneError as exc:
            raise PairingRefused(str(exc)) from None

    async def send(self, to: str, message: Outbound, wa_message_id: str) -> str:
        tables = self.factory.devices
        if await tables.sent_as(wa_message_id) is not None:  # sent before, by this worker or another
            return wa_message_id
        ours = message_id_for(message.target_wa_message_id or "") is not None  # a reaction to our own message
        message = replace(message, target_wa_message_id=await self._actual(message.target_wa_message_id),
                          quoted_wa_message_id=await self._actual(message.quoted_wa_message_id))
        try:
            built = await outbound.build(self.client, message, to, ours=ours)
            response = await self.client.send_message(jid_of(to), built)
        except (outbound.NotBuilt, SendMessageError) as exc:
            raise SendRefused(str(exc)) from None
        await tables.record_sent(wa_message_id, response.ID)
        if message.type == "poll":  # its votes name the options by hash only
            await tables.record_poll(response.ID, list(message.poll_part["options"]))
        return wa_message_id

    async def edit(self, chat: str, wa_message_id: str, text: str) -> None:
        try:
            await self.client.edit_message(jid_of(chat), await self._actual(wa_message_id), outbound.edited_text(text))
        except SendMessageError as exc:
            raise SendRefused(str(exc)) from None

    async def revoke(self, chat: str, wa_message_id: str) -> None:
        me = (await self.client.get_me()).JID
        try:
            await self.client.revoke_message(jid_of(chat), me, await self._actual(wa_message_id))
        except SendMessageError as exc:
            raise SendRefused(str(exc)) from None

    async def mark_read(self, chat: str) -> None:
        by_sender: dict[tuple[str, str], list] = {}
        for chat_jid, sender_jid, message_id in self._unread.pop(chat, []):
            key = (inbound.jid_text(chat_jid), inbound.jid_text(sender_jid))
            by_sender.setdefault(key, [chat_jid, sender_jid]).append(message_id)
        for chat_jid, sender_jid, *message_ids in by_sender.values():  # a group's: one receipt per member
            await self.client.mark_read(*message_ids, chat=chat_jid, sender=sender_jid, receipt=ReceiptType.READ)

    async def send_presence(self, presence: str, chat: str | None) -> None:
        await outbound.send_presence(self.client, presence, jid_of(chat) if chat else None)

    async def _actual(self, wa_message_id: str | None) -> str | None:
        return await actual_id(self.factory.devices, wa_message_id)

    async def disconnect(self) -> None:
        if self.client is not None:
            await self.client.disconnect()
            await self.client.stop()

    async def logout(self) -> None:
        """Unlink the device (WhatsApp tells the phone); the session forgets it even if WhatsApp cannot
        be told (not connected): the customer asked to log out, and the phone can unlink it itself."""
        if self.client is None:
            await self.connect()
        try:
            await self.client.logout()
        except Exception as exc:
            log.warning("whatsapp.unlink_failed", session_id=self.session_id, error=repr(exc))
        finally:
            await self.factory.devices.forget(self.session_id)
            await self.client.stop()

    # ---- the library's callbacks ----------------------------------------------------------------

    async def _on_qr(self, _client, code: bytes) -> None:
        self._qr_count += 1
        await self.emit(QrShown(code.decode(), FIRST_QR_TTL if self._qr_count == 1 else NEXT_QR_TTL))

    async def _on_library_event(self, _client, event) -> None:
        try:
            await self._translate(event)
        except Exception as exc:  # raised here it would vanish in neonize's event thread: say it
            log.warning("whatsapp.library_event_failed", session_id=self.session_id, event=type(event).__name__,
                        error=repr(exc))

    async def _translate(self, event) -> None:
        if isinstance(event, mapping.ev.PairStatus) and event.Status == mapping.ev.PairStatus.SUCCESS:
            await self.factory.devices.remember(self.session_id, event.ID.SerializeToString().hex())
        if isinstance(event, mapping.ev.LoggedOut):
            await self.factory.devices.forget(self.session_id)
        phone = None
        if isinstance(event, mapping.ev.Connected):
            phone = mapping.phone_of((await self.client.get_me()).JID)
        if isinstance(event, mapping.ev.Message) and inbound.is_poll_vote(event):
            translated: ClientEvent | None = await self._poll_vote(event)
        else:
            translated = mapping.event_from_library(event, phone=phone)
        if isinstance(translated, Receipt):  # whatsmeow's ids of our sends back to the derived ones
            translated = Receipt(tuple([await self._derived(i) for i in translated.wa_message_ids]),
                                 translated.status)
        if isinstance(translated, InboundMessage):
            translated = await self._received(event, translated)
        if translated is not None:
            await self.emit(translated)

    async def _poll_vote(self, event) -> InboundMessage | None:
        """whatsmeow decrypts the vote (with the poll's secret, from its store); the options it names by
        hash are named by the poll's options, recorded when the poll was sent or received. A vote in a
        poll never recorded (older than the worker) cannot be named: reported as no choice it would read
        as withdrawn, so it is logged and left out."""
        target = inbound.unwrapped(event.Message).pollUpdateMessage.pollCreationMessageKey.ID
        options = await self.factory.devices.poll_options(target)
        if options is None:
            log.info("whatsapp.vote_in_unknown_poll", session_id=self.session_id, wa_message_id=event.Info.ID)
            return None
        return inbound.poll_vote_from(event, await self.client.decrypt_poll_vote(event), options)

    async def _received(self, event, message: InboundMessage) -> InboundMessage:
        """Remember it for a read and a poll for its votes; the ids of our sends it refers to (a reply's
        quote, a reaction's or a vote's target) become the derived ids the platform knows them by; a file
        is fetched from WhatsApp when the worker stores it."""
        source = event.Info.MessageSource
        unread = self._unread.setdefault(message.chat, [])
        unread.append((source.Chat, source.Sender, message.wa_message_id))
        del unread[:-UNREAD_MEMORY]
        if message.type == "poll":
            await self.factory.devices.record_poll(message.wa_message_id, message.parts["poll"]["options"])
        parts = dict(message.parts)
        for name in ("reaction", "poll_vote"):
            if name in parts:
                parts[name] = {**parts[name], "wa_message_id": await self._derived(parts[name]["wa_message_id"])}
        if "reply_to_wa_message_id" in parts:
            parts["reply_to_wa_message_id"] = await self._derived(parts["reply_to_wa_message_id"])
        fetch = message.fetch
        if "media" in parts:  # whatsmeow downloads and decrypts it from WhatsApp's media servers when asked
            fetch = functools.partial(self.client.download_any, inbound.unwrapped(event.Message))
        return replace(message, parts=parts, fetch=fetch)

    async def _derived(self, wa_message_id: str) -> str:
        return await derived_id(self.factory.devices, wa_message_id)

    def _connection_ended(self, task) -> None:
        """whatsmeow's connection loop returned: with an error, the session cannot come up (no network,
        WhatsApp unreachable, the store refused); the platform hears it instead of waiting forever."""
        if task.cancelled() or task.exception() is None:
            return
        log.warning("whatsapp.connection_ended", session_id=self.session_id, error=repr(task.exception()))
        report = asyncio.ensure_future(self.emit(ConnectionFailed(str(task.exception()))))
        self._reports.add(report)
        report.add_done_callback(self._reports.discard)
