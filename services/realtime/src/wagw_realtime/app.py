"""Wiring: the Socket.IO server attached to the service's aiohttp app, the event consumer, and the
loop that watches connected clients' credentials."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import AsyncIterator

import socketio
from aiohttp import web

from wagw_common import topology
from wagw_common.consumer import Subscription
from wagw_common.service import Resources, create_service_app

from .connections import Edge, watch_credentials, when_user_room_closes_end_its_logins
from .handlers import event_handlers
from .limits import ConnectionQuota
from .settings import SERVICE, Settings
from .sockets import create_socket_server, register_handlers

SOCKET_SERVER = web.AppKey("socket_server", socketio.AsyncServer)
EDGE = web.AppKey("edge", Edge)


def create_app(settings: Settings) -> web.Application:
    sio = create_socket_server(settings)
    edge = Edge(sio=sio, settings=settings)
    # The client manager is open before the first event is pushed and closed after the last one.
    app = create_service_app(SERVICE, settings, wire=partial(wire, edge=edge), needs_mongo=False,
                             contexts=(_client_manager_ctx,))
    app[SOCKET_SERVER] = sio
    app[EDGE] = edge
    register_handlers(edge)
    sio.manager.on_room_closing = partial(when_user_room_closes_end_its_logins, edge=edge)
    sio.attach(app)  # GET/POST/OPTIONS /socket.io/, beside /healthz, /readyz and /metrics
    app.on_shutdown.append(_disconnect_clients)
    return app


async def wire(res: Resources, *, edge: Edge) -> list[Subscription]:
    # Runs before the server listens, so every connection finds these bound.
    edge.rpc = res.rpc
    edge.quota = ConnectionQuota(res.redis, edge.settings.max_connections_per_user)
    res.background.append(asyncio.create_task(watch_credentials(edge)))
    # A queue per replica (topology.REALTIME_EVENTS): every replica gets every event and pushes it to
    # its own clients only, instead of one replica relaying it to the others through the broker.
    handlers = event_handlers(emit=partial(edge.sio.emit, ignore_queue=True),
                              close_room=edge.sio.manager.close_room_here)
    return [Subscription(topology.REALTIME_EVENTS, handlers)]


async def _client_manager_ctx(app: web.Application) -> AsyncIterator[None]:
    sio = app[SOCKET_SERVER]
    # python-socketio starts listening to the other replicas on its first client; start at once
    # instead, so that the listener and the publisher live exactly as long as the app.
    if not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()
    await sio.manager.open()
    yield
    await sio.shutdown()
    await sio.manager.close()


async def _disconnect_clients(app: web.Application) -> None:
    # Open connections would hold the shutdown for its whole timeout; closing them lets clients
    # reconnect at once (to another replica). engineio's own disconnect() waits until every client
    # has read its close packet, which a long-polling client that went away never does: tell
    # everyone, wait for no one.
    eio = app[SOCKET_SERVER].eio
    sockets = list(eio.sockets.values())
    await asyncio.gather(*(s.close(wait=False, reason=eio.reason.SERVER_DISCONNECT) for s in sockets),
                         return_exceptions=True)
