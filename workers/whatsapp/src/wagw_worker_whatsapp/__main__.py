"""`python -m wagw_worker_whatsapp`: one WhatsApp worker until SIGTERM, then its sessions are
disconnected (their credentials stay in the store for the worker that takes them over) and it
unregisters, so the platform moves them at once."""

from __future__ import annotations

import asyncio
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from aiohttp import web
from wagw_common.logging import get_logger
from wagw_worker_sdk import MediaStorage, Worker
from wagw_worker_sdk.runner import configured, run_worker

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
    if settings.client == "whatsmeow":
        from .bridge_program import checked_program  # noqa: PLC0415
        from .whatsmeow_client import WhatsmeowClientFactory  # noqa: PLC0415

        return WhatsmeowClientFactory(settings.store, directory_for(settings.store),
                                      checked_program(Path(settings.bridge_program)))
    from .neonize_client import NeonizeClientFactory  # noqa: PLC0415 (loads the library, after its checks)

    return NeonizeClientFactory(settings.store, directory_for(settings.store))


def whatsapp_parts(settings: Settings, factory: ClientFactory):
    @asynccontextmanager
    async def parts(worker: Worker) -> AsyncIterator[tuple[WhatsAppSessions, web.Application]]:
        async with MediaStorage.opened(settings) as media:  # where received files go
            phone = factory if isinstance(factory, FakeWhatsApp) else None
            try:
                yield WhatsAppSessions(worker.uplink, factory, media=media), create_http_app(worker, phone)
            finally:
                closing = getattr(factory, "aclose", None)  # a client factory with a process of its own
                if closing is not None:
                    await closing()

    return parts


def main() -> None:
    settings = configured(Settings, "worker-whatsapp")
    try:
        factory = client_factory(settings)
    except LibraryUnavailable as exc:  # never fetch a library at start-up: say what to fix and stop
        log.error("whatsapp.library_unavailable", error=str(exc))
        sys.exit(f"wagw_worker_whatsapp: {exc}")
    asyncio.run(run_worker(settings, whatsapp_parts(settings, factory), version=VERSION, host=settings.host,
                           port=settings.http_port, worker="whatsapp", client=settings.client))


if __name__ == "__main__":
    main()
