"""The baseline: a bare python-socketio server, no broker, no replicas, the same rooms and the same
token check as the realtime service. POST /burst emits the coordinator's events straight to the rooms,
stamping each with its emit time, so its latencies are Socket.IO's own cost on this machine."""

from __future__ import annotations

import os
import time

import socketio
from aiohttp import web

from wagw_common.tokens import InvalidToken, verify_access_token


def create_app(secret: str, issuer: str, audience: str) -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
    app = web.Application()
    sio.attach(app)

    @sio.event
    async def connect(sid, environ, auth):
        try:
            principal = verify_access_token((auth or {}).get("token", ""), secrets=[secret], issuer=issuer,
                                            audience=audience)
        except InvalidToken:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized") from None
        await sio.enter_room(sid, f"user:{principal.user_id}")

    async def burst(request: web.Request) -> web.Response:
        events = (await request.json())["events"]
        for event in events:
            payload = {"session_id": event["session_id"], "status": "CONNECTED", "previous": "QR_REQUIRED",
                       "reason": f"{time.time():.6f}", "sequence": event["sequence"]}
            await sio.emit("session.status", payload,
                           to=[f"user:{event['tenant_id']}", f"session:{event['session_id']}"])
        return web.json_response({"emitted": len(events)})

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_post("/burst", burst)
    app.router.add_get("/readyz", healthz)
    return app


if __name__ == "__main__":
    # Configured like the services: HTTP_PORT, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE.
    env = os.environ
    web.run_app(create_app(env["JWT_SECRET"], env.get("JWT_ISSUER", "wagw-gateway"), env.get("JWT_AUDIENCE",
                                                                                             "wagw-api")),
                host="127.0.0.1", port=int(env["HTTP_PORT"]), print=None, access_log=None)
