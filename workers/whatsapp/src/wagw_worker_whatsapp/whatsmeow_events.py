"""The bridge's events (workers/whatsapp/bridge, README) as the worker's client events: one reader per
event name in `READERS`. The store is kept in step on the way (a linked device remembered for its
session, a logged-out one forgotten, a poll's options recorded for its votes), the ids of messages the
neonize adapter sent earlier become the derived ids the platform knows (`sent_ids`), and a received
file gets its `fetch`: the bridge's download of it."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from wagw_common.logging import get_logger

from .client import (ClientEvent, Connected, ConnectionFailed, InboundMessage, LoggedOut, PairSucceeded, QrShown,
                     Receipt, ReceivedDeleted, ReceivedEdited, StreamReplaced, TemporarilyDisconnected)
from .devices import StoreTables
from .polls import chosen_options
from .sent_ids import derived_id

log = get_logger(__name__)
Download = Callable[[str], Awaitable[dict[str, Any]]]  # the bridge's `download` of a media_ref


@dataclass(frozen=True)
class EventContext:
    session_id: str
    tables: StoreTables
    download: Download


async def _paired(ctx: EventContext, data: dict) -> ClientEvent:
    await ctx.tables.remember(ctx.session_id, data["device_key"])  # whichever worker restores it finds it
    return PairSucceeded(data["phone"])


async def _logged_out(ctx: EventContext, data: dict) -> ClientEvent:
    await ctx.tables.forget(ctx.session_id)
    return LoggedOut(data.get("reason") or "logged out")


async def _receipt(ctx: EventContext, data: dict) -> ClientEvent:
    return Receipt(tuple([await derived_id(ctx.tables, i) for i in data["ids"]]), data["status"])


async def _message(ctx: EventContext, data: dict) -> ClientEvent | None:
    parts = dict(data.get("parts") or {})
    for name in ("reaction", "poll_vote"):
        if name in parts:
            parts[name] = {**parts[name], "wa_message_id": await derived_id(ctx.tables, parts[name]["wa_message_id"])}
    if "reply_to_wa_message_id" in parts:
        parts["reply_to_wa_message_id"] = await derived_id(ctx.tables, parts["reply_to_wa_message_id"])
    if data["type"] == "poll":
        await ctx.tables.record_poll(data["wa_message_id"], parts["poll"]["options"])
    if data["type"] == "poll_vote":
        vote = parts["poll_vote"]
        options = await ctx.tables.poll_options(vote["wa_message_id"])
        if options is None:  # a poll never recorded (older than the worker): no choice would read as withdrawn
            log.info("whatsapp.vote_in_unknown_poll", session_id=ctx.session_id, wa_message_id=data["wa_message_id"])
            return None
        hashes = [bytes.fromhex(hashed) for hashed in vote.pop("option_hashes")]
        parts["poll_vote"] = {**vote, "options": chosen_options(hashes, options)}
    fetch = None
    if data.get("media_ref"):
        ref = data["media_ref"]

        async def fetch() -> bytes:  # whatsmeow downloads and decrypts it from WhatsApp's media servers
            return base64.b64decode((await ctx.download(ref))["data"])
    return InboundMessage(data["wa_message_id"], data["chat"], data["sender"], data["type"], data.get("text") or "",
                          parts, fetch=fetch)


async def _same(event: ClientEvent) -> ClientEvent:
    return event


READERS: dict[str, Callable[[EventContext, dict], Awaitable[ClientEvent | None]]] = {
    "qr": lambda _c, d: _same(QrShown(d["code"], float(d["ttl_seconds"]))),
    "pair_success": _paired,
    "connected": lambda _c, d: _same(Connected(d.get("phone"))),
    "logged_out": _logged_out,
    "stream_replaced": lambda _c, _d: _same(StreamReplaced()),
    "disconnected": lambda _c, _d: _same(TemporarilyDisconnected()),
    "connection_failed": lambda _c, d: _same(ConnectionFailed(d.get("reason") or "connection failed")),
    "ended": lambda _c, d: _same(ConnectionFailed(d.get("reason") or "the whatsmeow bridge ended")),
    "receipt": _receipt,
    "message": _message,
    "edited": lambda _c, d: _same(ReceivedEdited(d["wa_message_id"], d["text"])),
    "deleted": lambda _c, d: _same(ReceivedDeleted(d["wa_message_id"])),
}


async def client_event(ctx: EventContext, name: str, data: dict) -> ClientEvent | None:
    """The worker's event for the bridge's; None for one it does not know (a newer bridge's), logged."""
    reader = READERS.get(name)
    if reader is None:
        log.info("whatsapp.bridge_event_unknown", session_id=ctx.session_id, bridge_event=name)
        return None
    return await reader(ctx, data)
