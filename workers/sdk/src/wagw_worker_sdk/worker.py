"""A worker's life on the broker: consume its own command queue, register (at start and after every
reconnect), heartbeat every interval with each held session's status and its CPU and memory use,
answer the registry's `worker.sessions.assigned` by restoring sessions, unregister on a graceful stop.

After each registration the first heartbeat waits (up to one interval) for that answer, so that the
registry never hears "no sessions" from a restarted worker before it told it what to restore.

Until that answer arrives the worker is unsure its sessions are still its own: it is starting, its
connection came back, the registry did not know it, or its heartbeat loop woke far later than asked
(the whole process was paused). Meanwhile the registry may have declared it offline and the platform
moved its sessions, and the sends waiting in its queue are stale: it bounces them
(`worker.message.bounced`) and the platform routes each again to where its session is now. The
answer queues behind those sends, so it marks where fresh commands begin; it must answer the latest
registration (its correlation id), not an earlier one."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Callable

from aio_pika.abc import AbstractQueue
from aio_pika.exceptions import PublishError
from wagw_common import topology
from wagw_common.contracts.workers import broker_user_for
from wagw_common.logging import correlation_scope, get_logger, new_correlation_id
from wagw_common.tasks import cancel_and_wait

from .commands import CommandDispatcher, WorkerHandler
from .queries import QueryAnswerer
from .link import BrokerLink
from .uplink import WorkerUplink
from .usage import ProcessUsage, Usage

log = get_logger(__name__)
STOP_STEP_SECONDS = 5.0

__all__ = ["Worker", "WorkerHandler", "WorkerIdentity"]


@dataclass(frozen=True)
class WorkerIdentity:
    worker_id: str
    max_sessions: int
    version: str
    environment: str = "development"
    endpoint: str | None = None
    cpu_cores: float | None = None
    memory_limit_mb: float | None = None


class Worker:
    def __init__(self, identity: WorkerIdentity, *, amqp_url: str | None = None, link: BrokerLink | None = None,
                 heartbeat_interval: float = 10.0, startup_timeout: float = 60.0, usage: Usage | None = None,
                 spread_first_beat: bool = False):
        if (amqp_url is None) == (link is None):
            raise ValueError("give either amqp_url (a connection of its own) or link (a shared one)")
        self.identity = identity
        self.worker_id = identity.worker_id
        self.heartbeat_interval = heartbeat_interval
        self.startup_timeout = startup_timeout
        self._owns_link = link is None
        self.link = link if link is not None else BrokerLink(str(amqp_url), name=f"worker/{identity.worker_id}")
        self.uplink = WorkerUplink(self.link, identity.worker_id)
        self.usage = usage or ProcessUsage()
        # Many workers started together beat at random offsets rather than all at once.
        self.spread_first_beat = spread_first_beat
        self.registered = False
        self.heartbeats_paused = False
        self.assigned = asyncio.Event()  # set once the registry answered a registration
        self.restored: list[str] = []
        self.unsure: str | None = "starting"  # why sends are bounced now; None once the registry answered
        self._answer_awaited: str | None = None  # the correlation id of the latest registration
        self._asleep_since: float | None = None  # when the heartbeat loop went to sleep, while it sleeps
        self._dispatcher: CommandDispatcher | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._tasks: set[asyncio.Task] = set()
        self._forget_reconnect: Callable[[], None] | None = None

    @property
    def connected(self) -> bool:
        return self.link.connected

    @property
    def provisioned(self) -> bool:
        """Connected with its own credentials: its queue was created with them, it cannot declare any."""
        return self.link.user == broker_user_for(self.worker_id)

    async def start(self, handler: WorkerHandler) -> None:
        self._dispatcher = CommandDispatcher(
            handler, beat_now=self.heartbeat, on_assigned=self._on_assigned,
            register_again=lambda: self._register_anew("unknown_to_registry"),
            unsure=self._why_unsure, bounce=self.uplink.message_bounced, report_held=self.uplink.session_status,
            queries=QueryAnswerer(handler, self.uplink.query_reply))
        if self._owns_link:
            await self.link.connect(self.startup_timeout)
        self._queue, self._consumer_tag = await self.link.consume(
            topology.worker_command_queue(self.worker_id), self._dispatcher.handle, declare=not self.provisioned)
        self._forget_reconnect = self.link.on_reconnect(self._on_reconnect)
        if not self.spread_first_beat:
            await self._announce()
        self._spawn(self._beat_forever(), name=f"heartbeat:{self.worker_id}")

    async def stop(self, reason: str = "shutdown") -> None:
        """Stop taking commands and beating, tell the registry we leave, then disconnect."""
        await self._quiesce()
        try:
            async with asyncio.timeout(STOP_STEP_SECONDS):
                await self.uplink.publish("worker.unregister", {"reason": reason})
        except Exception as exc:  # the registry then declares us offline when the heartbeats stop
            log.warning("worker.unregister_failed", error=repr(exc))
        self.registered = False
        if self._owns_link:
            await self.link.close()

    async def abandon(self) -> None:
        """Go away without a word, as a killed process does (tests of the registry's timeout and recovery)."""
        await self._quiesce()
        self.registered = False
        if self._owns_link:
            await self.link.close()

    async def _quiesce(self) -> None:
        if self._forget_reconnect is not None:
            self._forget_reconnect()
        await cancel_and_wait(self._tasks)
        # Bounded: with the broker away, a robust channel would wait for it forever.
        if self._queue is not None and self._consumer_tag is not None and self.connected:
            try:
                async with asyncio.timeout(STOP_STEP_SECONDS):
                    await self._queue.cancel(self._consumer_tag)
            except Exception as exc:  # unacked commands go back to the queue for our next start
                log.warning("worker.cancel_consumer_failed", error=repr(exc))

    def pause_heartbeats(self) -> None:
        """Go silent without leaving (a hung worker, as far as the registry can tell)."""
        self.heartbeats_paused = True

    def resume_heartbeats(self) -> None:
        self.heartbeats_paused = False

    # ---- what the worker says ------------------------------------------------------------------

    async def register(self) -> None:
        identity = self.identity
        # Its own correlation id, which the registry's answer carries: an answer to an earlier
        # registration says nothing about what happened since.
        correlation_id = self._answer_awaited = new_correlation_id()
        with correlation_scope(correlation_id):
            await self.uplink.publish("worker.register", {
                "version": identity.version, "environment": identity.environment, "endpoint": identity.endpoint,
                "capacity": {"max_sessions": identity.max_sessions, "cpu_cores": identity.cpu_cores,
                             "memory_limit_mb": identity.memory_limit_mb},
                "heartbeat_interval_seconds": self.heartbeat_interval,
            })
        self.registered = True
        log.info("worker.registered", worker_id=self.worker_id, max_sessions=identity.max_sessions)

    async def heartbeat(self) -> None:
        sessions = self._dispatcher.handler.held_sessions() if self._dispatcher else []
        cpu_percent, memory_mb = self.usage.snapshot()
        await self.uplink.publish("worker.heartbeat",
                                  {"sessions": sessions, "cpu_percent": cpu_percent, "memory_mb": memory_mb})

    # ---- liveness --------------------------------------------------------------------------------

    async def _announce(self) -> bool:
        """Register; False if nobody consumes registrations yet (no registry has declared its queue)."""
        self.assigned.clear()
        try:
            await self.register()
            return True
        except PublishError:
            self.registered = False
            log.warning("worker.register_unroutable", worker_id=self.worker_id)
            return False

    async def _first_beat(self) -> None:
        """Beat once the registry answered the registration (bounded wait): a heartbeat listing no
        sessions, handled before the registration, would make it forget the sessions to restore."""
        try:
            async with asyncio.timeout(max(1.0, self.heartbeat_interval)):
                await self.assigned.wait()
        except asyncio.TimeoutError:
            log.info("worker.registration_unanswered", worker_id=self.worker_id)
        await self._beat()

    async def _beat(self) -> None:
        began = asyncio.get_running_loop().time()
        await self.heartbeat()
        # Frozen in the middle of a beat, or the beat itself stuck: the registry heard nothing.
        self._stood_still(asyncio.get_running_loop().time() - began)

    async def _reannounce(self) -> None:
        try:
            if await self._announce():
                await self._first_beat()
        except Exception as exc:  # the broker is away again; the next beat tries once more
            log.warning("worker.reannounce_failed", worker_id=self.worker_id, error=repr(exc))

    async def _beat_forever(self) -> None:
        if self.spread_first_beat:
            await asyncio.sleep(random.uniform(0, self.heartbeat_interval))
            await self._reannounce()
        elif self.registered:
            await self._first_beat()
        while True:
            self._asleep_since = asyncio.get_running_loop().time()
            await asyncio.sleep(self.heartbeat_interval)
            noticed = self._notice_pause()  # then registering anew is under way
            self._asleep_since = None
            if self.heartbeats_paused or noticed:
                continue
            try:
                if self.registered:
                    await self._beat()
                elif await self._announce():
                    await self._first_beat()
            except PublishError:
                self.registered = False
                self._become_unsure("unknown_to_registry")
                log.warning("worker.heartbeat_unroutable", worker_id=self.worker_id)
            except Exception as exc:  # the broker is away; the robust connection comes back by itself
                log.warning("worker.heartbeat_failed", worker_id=self.worker_id, error=repr(exc))

    def _on_reconnect(self) -> None:
        self._register_anew("reconnected")

    def _register_anew(self, reason: str) -> None:
        # After a reconnect, the registry may have declared us offline while we were away; when it
        # asks (it lost or removed our record), it does not know us at all: introduce ourselves again.
        self.registered = False
        self._become_unsure(reason)
        self._spawn(self._reannounce(), name=f"reannounce:{self.worker_id}")

    def _notice_pause(self) -> bool:
        """A heartbeat loop waking late: asked by the loop and by each send, whichever runs first
        after the whole process stood still."""
        if self._asleep_since is None:
            return False
        if self._stood_still(asyncio.get_running_loop().time() - self._asleep_since - self.heartbeat_interval):
            self._asleep_since = None
            return True
        return False

    def _stood_still(self, seconds: float) -> bool:
        """More than an interval (at least a second) without a beat where one was due: long enough,
        with the registry's default of three missed beats, for it to have been declared offline
        meanwhile. Registers again."""
        if seconds <= max(self.heartbeat_interval, 1.0):
            return False
        log.warning("worker.pause_noticed", worker_id=self.worker_id, seconds=round(seconds, 1))
        self._register_anew("paused")
        return True

    def _why_unsure(self) -> str | None:
        self._notice_pause()
        return self.unsure

    def _become_unsure(self, reason: str) -> None:
        self.unsure = reason
        self._answer_awaited = None  # an answer still on its way predates this

    def _on_assigned(self, restored: list[str], correlation_id: str) -> bool:
        """True if this answers the latest registration."""
        self.restored = restored
        if correlation_id != self._answer_awaited:
            log.info("worker.earlier_answer_ignored", worker_id=self.worker_id)
            return False
        self.unsure = None
        self.assigned.set()
        return True

    def _spawn(self, coro, *, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
