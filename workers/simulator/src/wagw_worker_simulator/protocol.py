"""The worker side of the worker protocol, with no WhatsApp in it (the seed of a worker SDK).

A worker consumes only its own command queue and publishes to the uplink exchange with the message
type as routing key (see `uplink`). It registers on start and after every broker reconnect, beats
every interval with each held session's status, and unregisters on a graceful stop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import PublishError
from wagw_common import topology
from wagw_common.broker import Broker
from wagw_common.contracts import Kind, contract_for
from wagw_common.envelope import MalformedMessage, parse_envelope
from wagw_common.logging import correlation_scope, get_logger

from .uplink import WorkerUplink
from .usage import ProcessUsage

log = get_logger(__name__)
STOP_STEP_SECONDS = 5.0


@dataclass(frozen=True)
class WorkerIdentity:
    worker_id: str
    max_sessions: int
    version: str
    environment: str = "development"
    endpoint: str | None = None


class WorkerHandler(Protocol):
    """What a worker implementation (simulated or real WhatsApp) provides to the protocol."""

    def held_sessions(self) -> list[dict[str, str]]: ...

    async def start_session(self, session_id: str, *, restore: bool) -> None: ...

    async def stop_session(self, session_id: str, *, logout: bool) -> None: ...

    async def send_message(self, session_id: str, message_id: str, to: str, text: str) -> None: ...


def _dispatch_table(handler: WorkerHandler) -> dict[str, Callable[[dict], Awaitable[None]]]:
    return {
        "worker.session.start": lambda d: handler.start_session(d["session_id"], restore=d["restore"]),
        "worker.session.stop": lambda d: handler.stop_session(d["session_id"], logout=d["logout"]),
        "worker.message.send": lambda d: handler.send_message(d["session_id"], d["message_id"], d["to"], d["text"]),
    }


class WorkerProtocol:
    def __init__(self, identity: WorkerIdentity, *, amqp_url: str, heartbeat_interval: float,
                 startup_timeout: float = 60.0, prefetch: int = 1):
        self.identity = identity
        self.worker_id = identity.worker_id
        self.heartbeat_interval = heartbeat_interval
        self.startup_timeout = startup_timeout
        # One command at a time keeps a session's commands (start, then stop) in order; slow work
        # (delivery receipts, QR refreshes) runs in the handler's own tasks.
        self.prefetch = prefetch
        self.broker = Broker(amqp_url, source=f"worker/{identity.worker_id}")
        self.uplink = WorkerUplink(self.broker, identity.worker_id)
        self.registered = False
        self.heartbeats_paused = False
        self._handler: WorkerHandler | None = None
        self._dispatch: dict[str, Callable[[dict], Awaitable[None]]] = {}
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._tasks: set[asyncio.Task] = set()
        self._usage = ProcessUsage()

    @property
    def connected(self) -> bool:
        return self.broker.is_connected

    def bind(self, handler: WorkerHandler) -> None:
        """The worker implementation that commands go to and heartbeats describe."""
        self._handler = handler
        self._dispatch = _dispatch_table(handler)

    async def start(self, handler: WorkerHandler) -> None:
        self.bind(handler)
        await self.broker.connect(self.startup_timeout)
        channel = await self.broker.channel(self.prefetch)
        self._queue = await self.broker.declare_queue(topology.worker_command_queue(self.worker_id), channel)
        self._consumer_tag = await self._queue.consume(self.handle_command)
        self.broker.connection.reconnect_callbacks.add(self._on_reconnect)
        await self._announce()
        self._spawn(self._beat_forever(), name=f"heartbeat:{self.worker_id}")

    async def stop(self, reason: str = "shutdown") -> None:
        """Stop taking commands and beating, tell the registry we leave, then disconnect."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Each step is bounded: with the broker away, a robust channel would wait for it forever.
        if self._queue is not None and self._consumer_tag is not None and self.connected:
            try:
                await asyncio.wait_for(self._queue.cancel(self._consumer_tag), STOP_STEP_SECONDS)
            except Exception as exc:  # unacked commands go back to the queue for our next start
                log.warning("worker.cancel_consumer_failed", error=repr(exc))
        try:
            await asyncio.wait_for(self.uplink.publish("worker.unregister", {"reason": reason}), STOP_STEP_SECONDS)
        except Exception as exc:  # the registry then declares us offline when the heartbeats stop
            log.warning("worker.unregister_failed", error=repr(exc))
        self.registered = False
        await self.broker.close()

    def pause_heartbeats(self) -> None:
        """Go silent without leaving (a hung worker, as far as the registry can tell)."""
        self.heartbeats_paused = True

    def resume_heartbeats(self) -> None:
        self.heartbeats_paused = False

    # ---- registration -------------------------------------------------------------------------

    async def register(self) -> None:
        await self.uplink.publish("worker.register", {
            "version": self.identity.version, "capacity": {"max_sessions": self.identity.max_sessions},
            "environment": self.identity.environment, "endpoint": self.identity.endpoint,
        })
        self.registered = True
        log.info("worker.registered", max_sessions=self.identity.max_sessions)

    async def heartbeat(self) -> None:
        sessions = self._handler.held_sessions() if self._handler else []
        await self.uplink.publish("worker.heartbeat", {
            "sessions": sessions, "cpu_percent": self._usage.cpu_percent(), "memory_mb": self._usage.memory_mb(),
        })

    # ---- liveness -----------------------------------------------------------------------------

    async def _announce(self) -> None:
        """Register, then beat at once so the registry learns our sessions without waiting."""
        try:
            await self.register()
            await self.heartbeat()
        except PublishError:
            # Nobody consumes registrations yet (no registry has declared its queue): try each beat.
            self.registered = False
            log.warning("worker.register_unroutable")

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            if self.heartbeats_paused:
                continue
            try:
                if self.registered:
                    await self.heartbeat()
                else:
                    await self._announce()
            except PublishError:
                self.registered = False
                log.warning("worker.heartbeat_unroutable")
            except Exception as exc:  # the broker is away; the robust connection comes back by itself
                log.warning("worker.heartbeat_failed", error=repr(exc))

    def _on_reconnect(self, _connection: Any) -> None:
        # The registry may have declared us offline while we were away: introduce ourselves again.
        log.info("worker.broker_reconnected")
        self.registered = False
        self._spawn(self._announce(), name=f"reannounce:{self.worker_id}")

    def _spawn(self, coro, *, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- downlink -----------------------------------------------------------------------------

    async def handle_command(self, message: AbstractIncomingMessage) -> None:
        """Validate a command against its contract, run it, then ack; malformed ones are rejected."""
        try:
            envelope = parse_envelope(message.body)
            contract = contract_for(envelope.type)
            if contract.kind is not Kind.WORKER_COMMAND or envelope.type not in self._dispatch:
                raise MalformedMessage(f"{envelope.type!r} is not a command this worker handles")
            data = contract.load(envelope.data)
        except MalformedMessage as exc:
            log.warning("worker.command_malformed_rejected", reason=exc.reason, details=exc.details,
                        message_type=message.type)
            await message.reject(requeue=False)
            return
        with correlation_scope(envelope.correlation_id, message_type=envelope.type, envelope_id=envelope.id):
            try:
                await self._dispatch[envelope.type](data)
            except Exception as exc:
                # Once more on a fresh delivery, then to this queue's dead-letter queue.
                log.error("worker.command_failed", error=repr(exc), redelivered=message.redelivered, exc_info=exc)
                await message.reject(requeue=not message.redelivered)
                return
            await message.ack()
            log.info("worker.command_handled", session_id=data.get("session_id"))
