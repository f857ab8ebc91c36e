"""A worker's life on the broker: consume its own command queue, register (at start and after every
reconnect), heartbeat every interval with each held session's status and its CPU and memory use,
answer the registry's `worker.sessions.assigned` by restoring sessions, unregister on a graceful stop.

After each registration the first heartbeat waits (up to one interval) for that answer, so that the
registry never hears "no sessions" from a restarted worker before it told it what to restore."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from aio_pika.exceptions import PublishError
from wagw_common import topology
from wagw_common.contracts.workers import broker_user_for
from wagw_common.logging import get_logger
from wagw_common.tasks import cancel_and_wait

from .commands import CommandDispatcher, WorkerHandler
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
        self.link = link or BrokerLink(amqp_url, name=f"worker/{identity.worker_id}")
        self.uplink = WorkerUplink(self.link, identity.worker_id)
        self.usage = usage or ProcessUsage()
        # Many workers started together beat at random offsets rather than all at once.
        self.spread_first_beat = spread_first_beat
        self.registered = False
        self.heartbeats_paused = False
        self.assigned = asyncio.Event()  # set once the registry answered a registration
        self.restored: list[str] = []
        self._dispatcher: CommandDispatcher | None = None
        self._queue = None
        self._consumer_tag: str | None = None
        self._tasks: set[asyncio.Task] = set()
        self._forget_reconnect = None

    @property
    def connected(self) -> bool:
        return self.link.connected

    @property
    def provisioned(self) -> bool:
        """Connected with its own credentials: its queue was created with them, it cannot declare any."""
        return self.link.user == broker_user_for(self.worker_id)

    async def start(self, handler: WorkerHandler) -> None:
        self._dispatcher = CommandDispatcher(handler, beat_now=self.heartbeat, on_assigned=self._on_assigned,
                                             register_again=self._on_reconnect)
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
        await self.heartbeat()

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
            await asyncio.sleep(self.heartbeat_interval)
            if self.heartbeats_paused:
                continue
            try:
                if self.registered:
                    await self.heartbeat()
                elif await self._announce():
                    await self._first_beat()
            except PublishError:
                self.registered = False
                log.warning("worker.heartbeat_unroutable", worker_id=self.worker_id)
            except Exception as exc:  # the broker is away; the robust connection comes back by itself
                log.warning("worker.heartbeat_failed", worker_id=self.worker_id, error=repr(exc))

    def _on_reconnect(self) -> None:
        # After a reconnect, the registry may have declared us offline while we were away; when it
        # asks (it lost or removed our record), it does not know us at all: introduce ourselves again.
        self.registered = False
        self._spawn(self._reannounce(), name=f"reannounce:{self.worker_id}")

    def _on_assigned(self, restored: list[str]) -> None:
        self.restored = restored
        self.assigned.set()

    def _spawn(self, coro, *, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
