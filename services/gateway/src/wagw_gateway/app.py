"""Composition root: the service app with its connections, the stores on top, and the routes."""

from __future__ import annotations

import asyncio
from functools import partial

from aiohttp import web
from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.service import Resources, create_service_app

from .api_keys import ApiKeyStore
from .dependencies import GATEWAY, Gateway
from .errors import api_error_middleware
from .idempotency import IdempotencyStore
from .passwords import Passwords
from .routes import add_routes
from .settings import SERVICE, Settings
from .users import UserStore

PURGE_INTERVAL_SECONDS = 600


def create_app(settings: Settings) -> web.Application:
    gateway = Gateway(settings=settings, passwords=Passwords())
    app = create_service_app(SERVICE, settings, wire=partial(bind, gateway), middlewares=(api_error_middleware,),
                             client_max_size=settings.max_body_bytes)
    mount(app, gateway)
    return app


def mount(app: web.Application, gateway: Gateway) -> None:
    """The gateway's routes and dependencies on `app` (a bare one in tests)."""
    app[GATEWAY] = gateway
    add_routes(app)


async def bind(gateway: Gateway, res: Resources) -> list:
    """Runs once MongoDB, Redis and the broker are open. The gateway consumes no queue."""
    gateway.users = UserStore(res.db["users"])
    gateway.api_keys = ApiKeyStore(res.db["api_keys"], res.redis)
    gateway.idempotency = IdempotencyStore(res.db["idempotency"])
    gateway.rpc = res.rpc
    gateway.commands = res.broker
    for store in (gateway.users, gateway.api_keys, gateway.idempotency):
        await store.ensure_indexes()
    lease = Lease(res.redis, "gateway.idempotency-purge", ttl_seconds=PURGE_INTERVAL_SECONDS * 2)
    res.background.append(asyncio.create_task(
        run_periodically_under_lease(lease, PURGE_INTERVAL_SECONDS, gateway.idempotency.purge_expired)))
    return []
