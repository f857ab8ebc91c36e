"""The HTTP routes every worker process serves, whatever else its app holds (the simulator's control
API, the WhatsApp worker's fake phone): `/healthz` (live while the process runs), `/readyz` (ready
once connected to the broker and registered) and `/metrics` (Prometheus: see `metrics`)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from .metrics import observe
from .worker import Worker

PROTOCOL = web.AppKey("protocol", Worker)


async def healthz(request: web.Request) -> web.Response:
    protocol = request.app[PROTOCOL]
    # `unsure`: why sends are bounced now (until the registry answers a registration), or null.
    return web.json_response({"status": "ok", "worker_id": protocol.worker_id, "registered": protocol.registered,
                              "unsure": protocol.unsure, "broker_connected": protocol.connected})


async def readyz(request: web.Request) -> web.Response:
    protocol = request.app[PROTOCOL]
    ready = protocol.connected and protocol.registered
    checks = {"broker": protocol.connected, "registered": protocol.registered}
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


def _metrics_handler():
    exposition = make_aiohttp_handler()

    async def metrics(request: web.Request) -> web.StreamResponse:
        """Prometheus metrics of this worker process"""
        observe(request.app[PROTOCOL])
        return await exposition(request)

    return metrics


def add_worker_routes(app: web.Application, protocol: Worker) -> None:
    app[PROTOCOL] = protocol
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", _metrics_handler())
