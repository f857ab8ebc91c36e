"""Composition root: the service app with its connections, the stores on top, and the routes."""

from __future__ import annotations

import asyncio
from functools import partial

from aiohttp import web
from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.service import Resources, create_service_app
from wagw_common.worker_asker import WorkerAsker
from wagw_common.worker_speakers import UplinkSpeakers

from .account_state import AccountStates
from .api_keys import ApiKeyStore
from .dependencies import GATEWAY, Gateway
from .errors import api_error_middleware
from .idempotency import IdempotencyStore
from .identity_queries import identity_subscription
from .login_guard import LoginGuard
from .media_files import delete_expired_media, object_store_context
from .passwords import Passwords
from .ratelimit import RateLimiter
from .refresh_tokens import RefreshTokenStore
from .routes import add_routes
from .session_events import session_events_subscription
from .routes.docs import CACHE as OPENAPI_CACHE
from .settings import SERVICE, Settings
from .usage import SendCounter
from .users import UserStore

PURGE_INTERVAL_SECONDS = 600


def create_app(settings: Settings) -> web.Application:
    gateway = Gateway(settings=settings, passwords=Passwords())
    app = create_service_app(SERVICE, settings, wire=partial(bind, gateway), middlewares=(api_error_middleware,),
                             client_max_size=settings.max_body_bytes)
    app.cleanup_ctx.append(lambda _app: object_store_context(settings, partial(setattr, gateway, "media")))
    mount(app, gateway)
    return app


def mount(app: web.Application, gateway: Gateway) -> None:
    """The gateway's routes and dependencies on `app` (a bare one in tests)."""
    app[GATEWAY] = gateway
    app[OPENAPI_CACHE] = {}
    add_routes(app)


async def bind(gateway: Gateway, res: Resources) -> list:
    """Runs once MongoDB, Redis and the broker are open. The gateway consumes identity queries and
    the deletion of sessions (to revoke their keys)."""
    gateway.users = UserStore(res.db["users"])
    gateway.api_keys = ApiKeyStore(res.db["api_keys"], res.redis)
    gateway.idempotency = IdempotencyStore(res.db["idempotency"])
    gateway.refresh_tokens = RefreshTokenStore(res.db["refresh_tokens"])
    gateway.accounts = AccountStates(gateway.users, res.redis)
    gateway.limiter = RateLimiter(res.redis)
    gateway.usage = SendCounter(res.db["usage"], res.redis)
    gateway.login_guard = LoginGuard(res.redis, max_failures=gateway.settings.login_max_failures,
                                     lockout_seconds=gateway.settings.login_lockout)
    gateway.rpc = res.rpc
    gateway.worker_queries = WorkerAsker(res.broker, timeout=gateway.settings.worker_query_timeout,
                                         speakers=UplinkSpeakers.of(gateway.settings.amqp_url,
                                                                    gateway.settings.trusted_users))
    await gateway.worker_queries.start()
    gateway.commands = gateway.events = res.broker
    gateway.redis = res.redis
    for store in (gateway.users, gateway.api_keys, gateway.idempotency, gateway.refresh_tokens):
        await store.ensure_indexes()
    lease = Lease(res.redis, "gateway.purge", ttl_seconds=PURGE_INTERVAL_SECONDS * 2)
    res.background.append(asyncio.create_task(
        run_periodically_under_lease(lease, PURGE_INTERVAL_SECONDS, partial(purge_expired, gateway))))
    res.background.append(asyncio.create_task(gateway.usage.run()))
    return [identity_subscription(gateway.api_keys, gateway.accounts),  # apikey.resolve, account.standing
            session_events_subscription(gateway.api_keys)]  # session.deleted: its keys are revoked


async def purge_expired(gateway: Gateway) -> None:
    """What TTL indexes would do, were they available on every supported server."""
    await gateway.idempotency.purge_expired()
    await gateway.refresh_tokens.purge_expired()
    await delete_expired_media(gateway.media, gateway.settings.media_retention_days)
