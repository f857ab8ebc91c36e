"""Composition root: the connections, the one dependency object on them (Edge), the Socket.IO server
attached to the service's aiohttp app, the event router, and the loop that watches clients' credentials."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import AsyncIterator

import socketio
from aiohttp import web

from wagw_common.logging import get_logger
from wagw_common.queue_bindings import QueueBindings
from wagw_common.service import Resources, create_service_app

from .client_bindings import ClientBindings
from .connections import Edge, watch_credentials, when_user_room_closes_end_its_logins
from .limits import ConnectionQuota
from .router import events as events_queue
from .router import router
from .settings import SERVICE, Settings
from .sockets import create_socket_server, register_handlers

log = get_logger(__name__)


def create_app(settings: Settings) -> web.Application:
    # Nothing durable: no database (and no inbox).
    res = Resources.open_lazily(SERVICE, settings, needs_mongo=False)
    sio = create_socket_server(settings)
    # The RPC client and Redis connect when the app starts, before the server listens: every
    # connection finds them open.
    edge = Edge(sio=sio, settings=settings, rpc=res.rpc,
                quota=ConnectionQuota(res.redis, settings.max_connections_per_user),
                bindings=ClientBindings(QueueBindings.of(res.broker, events_queue, res.replica_id)))

    async def startup(res: Resources) -> None:
        await edge.bindings.restore()  # before the consumer starts: its queue bound to nothing yet
        res.broker.on_reconnect(partial(_restore_bindings, edge))
        res.background.append(asyncio.create_task(watch_credentials(edge)))

    # The client manager is open before the first event is pushed and closed after the last one.
    app = create_service_app(res, router=router, deps=edge, startup=startup,
                             contexts=(partial(_client_manager_ctx, sio),))
    register_handlers(edge)
    sio.manager.on_room_closing = partial(when_user_room_closes_end_its_logins, edge=edge)
    sio.attach(app)  # GET/POST/OPTIONS /socket.io/, beside /healthz, /readyz and /metrics
    app.on_shutdown.append(partial(_disconnect_clients, sio))
    return app


def _restore_bindings(edge: Edge) -> None:
    async def restore() -> None:
        try:
            await edge.bindings.restore()
        except Exception as exc:
            log.error("realtime.bindings_not_restored", error=repr(exc))

    task = asyncio.create_task(restore())
    edge.checks.add(task)
    task.add_done_callback(edge.checks.discard)


async def _client_manager_ctx(sio: socketio.AsyncServer, app: web.Application) -> AsyncIterator[None]:
    # python-socketio starts listening to the other replicas on its first client; start at once
    # instead, so that the listener and the publisher live exactly as long as the app.
    if not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()
    await sio.manager.open()
    yield
    await sio.shutdown()
    await sio.manager.close()


async def _disconnect_clients(sio: socketio.AsyncServer, app: web.Application) -> None:
    # Open connections would hold the shutdown for its whole timeout; closing them lets clients
    # reconnect at once (to another replica). engineio's own disconnect() waits until every client
    # has read its close packet, which a long-polling client that went away never does: tell
    # everyone, wait for no one.
    eio = sio.eio
    sockets = list(eio.sockets.values())
    await asyncio.gather(*(s.close(wait=False, reason=eio.reason.SERVER_DISCONNECT) for s in sockets),
                         return_exceptions=True)
