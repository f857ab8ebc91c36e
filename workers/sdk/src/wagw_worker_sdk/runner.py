"""Running a worker process, the same for every worker (the simulator, the WhatsApp worker): settings
read and logging configured (`configured`), then `run_worker`: the worker connected and started with
its implementation, its HTTP app served (which holds `/healthz`, `/readyz` and `/metrics`, see
`routes`) until SIGTERM or SIGINT, then the app closed, the implementation closed and the worker
stopped (it unregisters, so the platform moves its sessions at once)."""

from __future__ import annotations

import asyncio
import signal
from contextlib import AbstractAsyncContextManager
from typing import Any, Callable, Protocol, TypeVar

from aiohttp import web
from structlog.contextvars import bind_contextvars
from wagw_common.logging import configure_logging, get_logger
from wagw_common.settings import load

from .commands import WorkerHandler
from .settings import WorkerSettings
from .worker import Worker, WorkerIdentity

log = get_logger(__name__)
Settings = TypeVar("Settings", bound=WorkerSettings)


class ClosingHandler(WorkerHandler, Protocol):
    async def close(self) -> None:
        """Let go of every session (their credentials stay stored for whoever takes them over)."""


# Given the worker (its `uplink` is what the implementation reports through), yields the
# implementation and the HTTP app of the process; whatever it opened is closed on the way out.
Parts = Callable[[Worker], AbstractAsyncContextManager[tuple[ClosingHandler, web.Application]]]


def configured(settings_type: type[Settings], process: str) -> Settings:
    """The process's settings from the environment (a bad value stops it with a clear message),
    logging configured, and the worker id on every log line."""
    settings = load(settings_type)
    configure_logging(process, settings.log_level, settings.log_format)
    bind_contextvars(worker_id=settings.worker_id)
    return settings


async def run_worker(settings: WorkerSettings, parts: Parts, *, version: str, host: str, port: int,
                     **described: Any) -> None:
    """`described`: what the start-up log line says of this worker besides its address."""
    identity = WorkerIdentity(worker_id=settings.worker_id, max_sessions=settings.capacity, version=version,
                              endpoint=f"http://{host}:{port}")
    worker = Worker(identity, amqp_url=settings.amqp_url, heartbeat_interval=settings.heartbeat_interval,
                    startup_timeout=settings.startup_timeout)
    async with parts(worker) as (implementation, app):
        await worker.start(implementation)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        log.info("worker.started", http=f"http://{host}:{port}", **described)

        await until_stopped()

        log.info("worker.stopping")
        await runner.cleanup()
        await implementation.close()
    await worker.stop("shutdown")
    log.info("worker.stopped")


async def until_stopped() -> None:
    """Wait for SIGTERM or SIGINT: a worker process's life between its start and its graceful stop."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
