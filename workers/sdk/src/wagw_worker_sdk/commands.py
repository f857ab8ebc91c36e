"""The commands a worker consumes: each validated against its contract, dispatched to the worker's
handler, and acknowledged once done. Malformed ones go to the queue's dead-letter queue at once; a
failing one is retried once (a fresh delivery), then dead-lettered.

A send found while the worker cannot vouch for its sessions (see `Worker`) is bounced, not sent:
handed back with `worker.message.bounced` for the platform to route again."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Awaitable, Callable, Protocol

from aio_pika.abc import AbstractIncomingMessage
from wagw_common.contracts import Kind, contract_for
from wagw_common.envelope import Envelope, MalformedMessage, parse_envelope
from wagw_common.logging import correlation_scope, get_logger

from .queries import QueryAnswerer

log = get_logger(__name__)


class WorkerHandler(Protocol):
    """What a worker implementation (real or simulated WhatsApp) provides to the SDK. Besides these, the
    optional methods that answer `worker.session.query` (named in `contracts.worker_queries.QUERIES`,
    called `method(session_id, **args)`; see `queries.py`): without one, that query is `not_supported`."""

    def held_sessions(self) -> list[dict[str, str]]:
        """Every session held now, as `{"session_id", "status"}` (the heartbeat's list)."""

    async def start_session(self, session_id: str, *, restore: bool, pairing_phone: str | None = None) -> None: ...

    async def stop_session(self, session_id: str, *, logout: bool) -> None: ...

    async def send_message(self, session_id: str, message_id: str, to: str, text: str, **content) -> None:
        """`content`: the rest of `worker.message.send` (type, media, location, contact, reaction, reply_to, ...)."""

    async def edit_message(self, session_id: str, message_id: str, chat: str, text: str) -> None:
        """Edit a message this worker sent; confirm with `uplink.message_edited(..., message_id=...)`."""

    async def revoke_message(self, session_id: str, message_id: str, chat: str) -> None:
        """Delete a message this worker sent for everyone; confirm with `uplink.message_deleted(message_id=...)`."""

    async def mark_chat_read(self, session_id: str, chat: str) -> None:
        """Mark the chat's received messages read on WhatsApp (optional, like the other changes)."""

    async def send_presence(self, session_id: str, presence: str, chat: str | None) -> None:
        """`typing`, `recording`, `paused` in `chat`; `available`, `unavailable` for the session (chat None)."""


class Recovery:
    """Which sessions of a `worker.sessions.assigned` to restore: those not held yet, unless a stop for
    the session was handled that is newer than what the registry's list is based on (`as_of`)."""

    def __init__(self) -> None:
        self._stopped_at: dict[str, datetime] = {}

    def stopped(self, session_id: str, at: datetime) -> None:
        self._stopped_at[session_id] = at

    def started(self, session_id: str) -> None:
        self._stopped_at.pop(session_id, None)

    def to_restore(self, assigned: list[dict], held: set[str]) -> list[str]:
        restore = []
        for item in assigned:
            session_id, stopped_at = item["session_id"], self._stopped_at.get(item["session_id"])
            if session_id in held or (stopped_at is not None and stopped_at > item["as_of"]):
                continue
            restore.append(session_id)
        return restore


class CommandDispatcher:
    def __init__(self, handler: WorkerHandler, *, beat_now: Callable[[], Awaitable[None]],
                 on_assigned: Callable[[list[str], str], bool] = lambda restored, correlation_id: True,
                 register_again: Callable[[], None] = lambda: None,
                 unsure: Callable[[], str | None] = lambda: None,
                 bounce: Callable[[str, str, str], Awaitable[None]] | None = None,
                 report_held: Callable[[str, str], Awaitable[None]] | None = None,
                 queries: QueryAnswerer | None = None):
        self.handler = handler
        self.beat_now = beat_now
        self.on_assigned = on_assigned
        self.register_again = register_again
        self.unsure = unsure  # why sends may be stale now (a bounce reason), None when they are not
        self.bounce = bounce
        self.report_held = report_held  # (session id, status): a held session's status, reported again
        self.recovery = Recovery()
        self.queries = queries
        self._answering: set[asyncio.Task] = set()
        self._table: dict[str, Callable[[Envelope], Awaitable[None]]] = {
            "worker.session.start": self._start,
            "worker.session.stop": self._stop,
            "worker.message.send": self._send,
            "worker.message.edit": lambda envelope: self._optional("edit_message", envelope),
            "worker.message.revoke": lambda envelope: self._optional("revoke_message", envelope),
            "worker.chat.read": lambda envelope: self._optional("mark_chat_read", envelope),
            "worker.chat.presence": lambda envelope: self._optional("send_presence", envelope),
            "worker.sessions.assigned": self._assigned,
            "worker.heartbeat.request": lambda _envelope: self.beat_now(),
            "worker.register.request": self._register_again,
            "worker.session.query": self._query_without_answerer,
        }

    async def handle(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = parse_envelope(message.body)
            contract = contract_for(envelope.type)
            if contract.kind is not Kind.WORKER_COMMAND or envelope.type not in self._table:
                raise MalformedMessage(f"{envelope.type!r} is not a command this worker handles")
            envelope = Envelope(type=envelope.type, source=envelope.source, data=contract.load(envelope.data),
                                subject=envelope.subject, correlation_id=envelope.correlation_id, id=envelope.id,
                                time=envelope.time)
        except MalformedMessage as exc:
            log.warning("worker.command_malformed_rejected", reason=exc.reason, details=exc.details,
                        message_type=message.type)
            await message.reject(requeue=False)
            return
        with correlation_scope(envelope.correlation_id, message_type=envelope.type, envelope_id=envelope.id):
            if envelope.type == "worker.session.query" and self.queries is not None:
                # A question waits for nothing stored: acknowledged at once and answered beside the
                # commands, so a slow answer never holds up a send (lost in a crash, its asker times out).
                await message.ack()
                task = asyncio.create_task(self.queries.answer(envelope, reply_to=message.reply_to,
                                                               request_id=message.message_id or envelope.id))
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)
                return
            try:
                await self._table[envelope.type](envelope)
            except Exception as exc:
                log.error("worker.command_failed", error=repr(exc), redelivered=message.redelivered, exc_info=exc)
                await message.reject(requeue=not message.redelivered)
                return
            await message.ack()
            log.info("worker.command_handled", session_id=envelope.data.get("session_id"))

    async def _start(self, envelope: Envelope) -> None:
        data = envelope.data
        self.recovery.started(data["session_id"])
        await self.handler.start_session(data["session_id"], restore=data["restore"],
                                         pairing_phone=data["pairing_phone"])

    async def _stop(self, envelope: Envelope) -> None:
        self.recovery.stopped(envelope.data["session_id"], envelope.time)
        await self.handler.stop_session(envelope.data["session_id"], logout=envelope.data["logout"])

    async def _send(self, envelope: Envelope) -> None:
        d = dict(envelope.data)
        rerouted = d.pop("rerouted")
        reason = None if rerouted or self.bounce is None else self.unsure()
        if reason is not None and self.bounce is not None:
            await self.bounce(d["session_id"], d["message_id"], reason)
            log.info("worker.message_bounced", session_id=d["session_id"], message_id=d["message_id"], reason=reason)
            return
        await self.handler.send_message(d.pop("session_id"), d.pop("message_id"), d.pop("to"), d.pop("text"), **d)

    async def _optional(self, method: str, envelope: Envelope) -> None:
        """A command an implementation may not have (newer than it): without it, logged and acknowledged,
        since there is nothing it could do and nothing to retry."""
        do = getattr(self.handler, method, None)
        if do is None:
            log.warning("worker.command_unsupported", message_type=envelope.type,
                        session_id=envelope.data["session_id"])
            return
        await do(**envelope.data)

    async def _query_without_answerer(self, envelope: Envelope) -> None:
        log.warning("worker.query_unanswerable", query=envelope.data["query"])

    async def _register_again(self, _envelope: Envelope) -> None:
        log.warning("worker.registry_asked_to_register_again")
        self.register_again()

    async def _assigned(self, envelope: Envelope) -> None:
        held = {s["session_id"]: s["status"] for s in self.handler.held_sessions()}
        restore = self.recovery.to_restore(envelope.data["sessions"], set(held))
        for session_id in restore:
            await self.handler.start_session(session_id, restore=True, pairing_phone=None)
        log.info("worker.sessions_restored", assigned=len(envelope.data["sessions"]), restored=len(restore))
        if restore:
            await self.beat_now()  # the registry learns at once that they are back
        latest = self.on_assigned(restore, envelope.correlation_id)
        unlisted = sorted(held.keys() - {item["session_id"] for item in envelope.data["sessions"]})
        if latest and unlisted and self.report_held is not None:
            # Held, yet not ours by the registry's list: another worker took them over while we stood
            # still, or the registry lost track. The orchestrator knows which, and stops the strays.
            for session_id in unlisted:
                await self.report_held(session_id, held[session_id])
            log.info("worker.unlisted_sessions_reported", count=len(unlisted))
