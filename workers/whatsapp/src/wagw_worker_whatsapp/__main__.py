"""`python -m wagw_worker_whatsapp`: one WhatsApp worker until SIGTERM, then its sessions are
disconnected (their credentials stay in the store for the worker that takes them over) and it
unregisters, so the platform moves them at once."""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from aiohttp import web
from structlog.contextvars import bind_contextvars
from wagw_common.logging import configure_logging, get_logger
from wagw_common.settings import load
from wagw_worker_sdk import MediaStorage, Worker, WorkerIdentity
from wagw_worker_sdk.settings import until_stopped

from . import VERSION
from .client import ClientFactory
from .fake import FakeWhatsApp
from .http import create_http_app
from .library import LibraryUnavailable
from .sessions import WhatsAppSessions
from .settings import Settings

log = get_logger(__name__)


def client_factory(settings: Settings) -> ClientFactory:
    if settings.client == "fake":
        return FakeWhatsApp(store=Path(settings.store), auto_scan=settings.fake_auto_scan)
    from .devices import directory_for  # noqa: PLC0415
    from .neonize_client import NeonizeClientFactory  # noqa: PLC0415 (loads the library, after its checks)

    return NeonizeClientFactory(settings.store, directory_for(settings.store))


async def run(settings: Settings, factory: ClientFactory) -> None:
    identity = WorkerIdentity(worker_id=settings.worker_id, max_sessions=settings.capacity, version=VERSION,
                              endpoint=f"http://{settings.host}:{settings.http_port}")
    protocol = Worker(identity, amqp_url=settings.amqp_url, heartbeat_interval=settings.heartbeat_interval,
                      startup_timeout=settings.startup_timeout)
    resources = AsyncExitStack()
    media = await resources.enter_async_context(MediaStorage.opened(settings))  # where received files go
    sessions = WhatsAppSessions(protocol.uplink, factory, media=media)
    await protocol.start(sessions)
    phone = factory if isinstance(factory, FakeWhatsApp) else None
    runner = web.AppRunner(create_http_app(protocol, phone), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.http_port).start()
    log.info("whatsapp.worker_started", client=settings.client, http=f"http://{settings.host}:{settings.http_port}")

    await until_stopped()

    log.info("whatsapp.worker_stopping")
    await runner.cleanup()
    await sessions.close()
    await protocol.stop("shutdown")
    await resources.aclose()
    log.info("whatsapp.worker_stopped")


def main() -> None:
    settings = load(Settings)
    configure_logging("worker-whatsapp", settings.log_level, settings.log_format)
    bind_contextvars(worker_id=settings.worker_id)
    try:
        factory = client_factory(settings)
    except LibraryUnavailable as exc:  # never fetch a library at start-up: say what to fix and stop
        log.error("whatsapp.library_unavailable", error=str(exc))
        sys.exit(f"wagw_worker_whatsapp: {exc}")
    asyncio.run(run(settings, factory))


if __name__ == "__main__":
    main()
