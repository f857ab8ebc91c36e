"""`python -m wagw_worker_simulator`: one simulated worker with its control API, until SIGTERM."""

from __future__ import annotations

from aiohttp import web
from structlog.contextvars import bind_contextvars
from wagw_common import fast_runtime
from wagw_common.logging import configure_logging, get_logger
from wagw_common.settings import load
from wagw_worker_sdk import MediaStorage, Worker, WorkerIdentity
from wagw_worker_sdk.settings import until_stopped

from . import VERSION
from .control import create_control_app
from .settings import Settings
from .whatsapp import SimulatedWhatsApp, Timing

log = get_logger(__name__)


def build(settings: Settings) -> tuple[Worker, SimulatedWhatsApp]:
    identity = WorkerIdentity(worker_id=settings.worker_id, max_sessions=settings.capacity, version=VERSION,
                              endpoint=f"http://{settings.host}:{settings.control_port}")
    protocol = Worker(identity, amqp_url=settings.amqp_url, heartbeat_interval=settings.heartbeat_interval,
                      startup_timeout=settings.startup_timeout)
    timing = Timing(qr_ttl=settings.qr_ttl, qr_refresh=settings.qr_refresh, qr_max_refreshes=settings.qr_max_refreshes,
                    status_delay=settings.status_delay, auto_scan=settings.auto_scan)
    return protocol, SimulatedWhatsApp(protocol.uplink, timing)


async def run(settings: Settings) -> None:
    protocol, whatsapp = build(settings)
    async with MediaStorage.opened(settings) as media:
        await protocol.start(whatsapp)
        runner = web.AppRunner(create_control_app(whatsapp, protocol, media), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.control_port).start()
        log.info("simulator.started", control=f"http://{settings.host}:{settings.control_port}")

        await until_stopped()

        log.info("simulator.stopping")
        await runner.cleanup()
    await whatsapp.close()
    await protocol.stop("shutdown")
    log.info("simulator.stopped")


def main() -> None:
    settings = load(Settings)
    configure_logging("worker-simulator", settings.log_level, settings.log_format)
    bind_contextvars(worker_id=settings.worker_id)
    fast_runtime.run(lambda: run(settings))


if __name__ == "__main__":
    main()
