"""A worker process's `/healthz` and `/readyz`, the same for every worker (the simulator's control API,
the WhatsApp worker's small HTTP server): live while the process runs, ready once connected to the
broker and registered."""

from __future__ import annotations

from aiohttp import web

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


def add_health_routes(app: web.Application, protocol: Worker) -> None:
    app[PROTOCOL] = protocol
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
