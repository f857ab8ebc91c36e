"""The `WhatsAppClient` interface on whatsmeow itself, through the bridge program (`bridge_process`):
every operation one request, every event of the session through `whatsmeow_events`.

Unlike neonize 0.5.2, the bridge sends with the id derived from the platform's message id
(`SendRequestExtra.ID`), so WhatsApp itself sees a repeated send as the same message: no record is
needed, and no crash between WhatsApp's acceptance and a record can send it twice. Messages the neonize
adapter sent earlier keep their recorded whatsmeow ids (`sent_ids`): a send asked again is not sent
again, and their receipts and the replies, reactions, edits and revokes naming them are translated."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from wagw_worker_sdk import QueryRefused

from .bridge_process import BridgeError, BridgeProcess
from .client import EventSink, Group, Member, Outbound, PairingRefused, Profile, SendRefused
from .devices import StoreTables
from .ids import message_id_for
from .sent_ids import actual_id
from .whatsmeow_events import EventContext, client_event

REFUSAL_CODES = ("invalid", "forbidden", "not_found", "failed")


class WhatsmeowClientFactory:
    """One bridge program for the worker process, started with the first session (again if it ended)."""

    def __init__(self, store: str, devices: StoreTables, program: Path):
        self.devices = devices
        self.bridge = BridgeProcess(program, store)
        self._starting = asyncio.Lock()

    def open(self, session_id: str, on_event: EventSink) -> "WhatsmeowClient":
        return WhatsmeowClient(self, session_id, on_event)

    async def running(self) -> BridgeProcess:
        async with self._starting:
            if not self.bridge.running:
                await self.bridge.start()
        return self.bridge

    async def aclose(self) -> None:
        await self.bridge.stop()


@contextmanager
def refusals(kind: str, error: type[Exception]) -> Iterator[None]:
    """The bridge's refusal of that `kind` raised as the interface's `error`; any other error as it is."""
    try:
        yield
    except BridgeError as exc:
        if exc.kind != kind:
            raise
        raise error(exc.message) from None


@contextmanager
def query_refusals() -> Iterator[None]:
    try:
        yield
    except BridgeError as exc:
        raise QueryRefused(exc.kind if exc.kind in REFUSAL_CODES else "failed", exc.message) from None


def profile(answer: dict[str, Any]) -> Profile:
    return Profile(answer["jid"], answer.get("name"), answer.get("about"), answer.get("picture_url"))


def group(answer: dict[str, Any]) -> Group:
    return Group(answer["jid"], answer["subject"],
                 tuple(Member(member["jid"], member["role"]) for member in answer["participants"]))


class WhatsmeowClient:
    def __init__(self, factory: WhatsmeowClientFactory, session_id: str, on_event: EventSink):
        self.factory = factory
        self.session_id = session_id
        self.emit = on_event
        self.tables = factory.devices

    async def _ask(self, op: str, **args: Any) -> dict[str, Any]:
        return await self.factory.bridge.request(op, self.session_id, **args)

    async def has_credentials(self) -> bool:
        return await self.tables.find(self.session_id) is not None

    async def connect(self) -> None:
        bridge = await self.factory.running()
        context = EventContext(self.session_id, self.tables, lambda ref: self._ask("download", media_ref=ref))
        bridge.subscribe(self.session_id, lambda name, data: self._report(context, name, data))
        await self._ask("connect", device_key=await self.tables.find(self.session_id))

    async def _report(self, context: EventContext, name: str, data: dict) -> None:
        event = await client_event(context, name, data)
        if event is not None:
            await self.emit(event)

    async def pair_phone(self, phone: str) -> str:
        with refusals("pairing_refused", PairingRefused):
            return (await self._ask("pair_phone", phone=phone))["code"]

    async def send(self, to: str, message: Outbound, wa_message_id: str) -> str:
        if await self.tables.sent_as(wa_message_id) is not None:  # sent by the neonize adapter before
            return wa_message_id
        ours = message_id_for(message.target_wa_message_id or "") is not None  # a reaction to our own message
        message = dataclasses.replace(
            message, target_wa_message_id=await actual_id(self.tables, message.target_wa_message_id),
            quoted_wa_message_id=await actual_id(self.tables, message.quoted_wa_message_id))
        with refusals("send_refused", SendRefused):
            await self._ask("send", to=to, id=wa_message_id,
                            message={**dataclasses.asdict(message), "target_ours": ours})
        if message.type == "poll":  # its votes name the options by hash only
            await self.tables.record_poll(wa_message_id, list(message.poll_part["options"]))
        return wa_message_id

    async def edit(self, chat: str, wa_message_id: str, text: str) -> None:
        with refusals("send_refused", SendRefused):
            await self._ask("edit", chat=chat, id=await actual_id(self.tables, wa_message_id), text=text)

    async def revoke(self, chat: str, wa_message_id: str) -> None:
        with refusals("send_refused", SendRefused):
            await self._ask("revoke", chat=chat, id=await actual_id(self.tables, wa_message_id))

    async def mark_read(self, chat: str) -> None:
        await self._ask("mark_read", chat=chat)

    async def send_presence(self, presence: str, chat: str | None) -> None:
        await self._ask("presence", presence=presence, chat=chat or "")

    async def on_whatsapp(self, phone: str) -> str | None:
        with query_refusals():
            return (await self._ask("on_whatsapp", phone=phone))["jid"]

    async def contact_profile(self, jid: str) -> Profile:
        with query_refusals():
            return profile(await self._ask("contact_profile", jid=jid))

    async def own_profile(self) -> Profile:
        with query_refusals():
            return profile(await self._ask("own_profile"))

    async def groups(self) -> list[Group]:
        with query_refusals():
            return [group(answer) for answer in (await self._ask("groups"))["groups"]]

    async def create_group(self, subject: str, participants: list[str]) -> Group:
        with query_refusals():
            return group(await self._ask("create_group", subject=subject, participants=participants))

    async def change_participants(self, group: str, action: str, participants: list[str]) -> dict[str, str]:
        with query_refusals():
            answer = await self._ask("change_participants", group=group, action=action, participants=participants)
        return answer["outcomes"]

    async def invite_link(self, group: str) -> str:
        with query_refusals():
            return (await self._ask("invite_link", group=group))["link"]

    async def leave_group(self, group: str) -> None:
        with query_refusals():
            await self._ask("leave_group", group=group)

    async def disconnect(self) -> None:
        bridge = self.factory.bridge
        bridge.unsubscribe(self.session_id)
        if bridge.running:
            await self._ask("disconnect")

    async def logout(self) -> None:
        """Unlink the device (WhatsApp tells the phone); its credentials are deleted even if WhatsApp
        cannot be told (the bridge deletes them from whatsmeow's store, the session forgets the device)."""
        self.factory.bridge.unsubscribe(self.session_id)
        try:
            await self.factory.running()
            await self._ask("logout", device_key=await self.tables.find(self.session_id))
        finally:
            await self.tables.forget(self.session_id)
