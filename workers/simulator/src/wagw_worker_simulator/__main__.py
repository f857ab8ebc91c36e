"""`python -m wagw_worker_simulator`: one simulated worker with its control API, until SIGTERM."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from aiohttp import web
from wagw_common import fast_runtime
from wagw_worker_sdk import MediaStorage, Worker
from wagw_worker_sdk.runner import configured, run_worker

from . import VERSION
from .control import create_control_app
from .settings import Settings
from .whatsapp import SimulatedWhatsApp, Timing


def simulator_parts(settings: Settings):
    timing = Timing(qr_ttl=settings.qr_ttl, qr_refresh=settings.qr_refresh, qr_max_refreshes=settings.qr_max_refreshes,
                    status_delay=settings.status_delay, auto_scan=settings.auto_scan)

    @asynccontextmanager
    async def parts(worker: Worker) -> AsyncIterator[tuple[SimulatedWhatsApp, web.Application]]:
        async with MediaStorage.opened(settings) as media:
            whatsapp = SimulatedWhatsApp(worker.uplink, timing)
            yield whatsapp, create_control_app(whatsapp, worker, media)

    return parts


def main() -> None:
    settings = configured(Settings, "worker-simulator")
    fast_runtime.run(lambda: run_worker(settings, simulator_parts(settings), version=VERSION, host=settings.host,
                                        port=settings.control_port, worker="simulator"))


if __name__ == "__main__":
    main()
