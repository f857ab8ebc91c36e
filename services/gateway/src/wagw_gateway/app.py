"""Composition root: the connections, the one dependency object on them, the router, the routes."""

from __future__ import annotations

import asyncio
from functools import partial

from aiohttp import web
from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.service import Resources, create_service_app

from . import deps as gateway_deps
from .deps import GATEWAY, Deps
from .errors import api_error_middleware
from .media_files import delete_expired_media
from .router import router
from .routes import add_routes
from .routes.docs import CACHE as OPENAPI_CACHE
from .settings import SERVICE, Settings

PURGE_INTERVAL_SECONDS = 600


def create_app(settings: Settings) -> web.Application:
    res = Resources.open_lazily(SERVICE, settings)
    deps = gateway_deps.build(settings, db=res.database, redis=res.redis, broker=res.broker, rpc=res.rpc)

    async def startup(res: Resources) -> None:
        await deps.worker_queries.start()
        for store in (deps.users, deps.api_keys, deps.idempotency, deps.refresh_tokens):
            await store.ensure_indexes()
        lease = Lease(res.redis, "gateway.purge", ttl_seconds=PURGE_INTERVAL_SECONDS * 2)
        res.background.append(asyncio.create_task(
            run_periodically_under_lease(lease, PURGE_INTERVAL_SECONDS, partial(purge_expired, deps))))
        res.background.append(asyncio.create_task(deps.usage.run()))

    app = create_service_app(res, router=router, deps=deps, startup=startup, contexts=(deps.media.context,),
                             middlewares=(api_error_middleware,), client_max_size=settings.max_body_bytes)
    mount(app, deps)
    return app


def mount(app: web.Application, deps: Deps) -> None:
    """The gateway's routes and dependencies on `app` (a bare one in tests)."""
    app[GATEWAY] = deps
    app[OPENAPI_CACHE] = {}
    add_routes(app)


async def purge_expired(deps: Deps) -> None:
    """What TTL indexes would do, were they available on every supported server."""
    await deps.idempotency.purge_expired()
    await deps.refresh_tokens.purge_expired()
    await delete_expired_media(deps.media.store, deps.settings.media_retention_days)
