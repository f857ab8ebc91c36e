"""The scaffolding of every service: an aiohttp app whose resources live in cleanup contexts.

`create_service_app` opens MongoDB, Redis and the broker (retrying at start-up), serves `/healthz`,
`/readyz` and `/metrics`, and consumes the service's queues once its own handlers are wired."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, AsyncIterator, Callable

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler
from pymongo.asynchronous.database import AsyncDatabase

from .broker import Broker
from .consumer import Consumer, Subscription
from .fast_runtime import new_event_loop
from .http import correlation_middleware, error_middleware, metrics_middleware
from .logging import configure_logging, get_logger
from .metrics import DEPENDENCY_UP
from .rpc import RpcClient
from .settings import CommonSettings, load
from .lease import Lease, run_periodically_under_lease
from .state_metrics import StateMetrics, queue_depth_probe
from .storage import MongoInbox, connect_mongo, connect_redis, utc_now
from .tasks import cancel_and_wait

log = get_logger(__name__)


@dataclass
class Resources:
    """Everything a service's handlers may depend on, opened once at start-up."""

    settings: Any
    service: str
    db: AsyncDatabase | None = None
    redis: aioredis.Redis | None = None
    broker: Broker | None = None
    rpc: RpcClient | None = None
    background: list[asyncio.Task] = field(default_factory=list)
    # Gauges of shared state (queue depths, documents by status), read when /metrics is scraped.
    state_metrics: StateMetrics = field(default_factory=StateMetrics)
    consumers: list[Consumer] = field(default_factory=list)


RESOURCES = web.AppKey("resources", Resources)


def create_service_app(
    service: str,
    settings: CommonSettings,
    *,
    wire: Callable[[Resources], Any] | None = None,
    middlewares: tuple = (),
    client_max_size: int = 1024**2,
    needs_mongo: bool = True,
    contexts: tuple = (),
) -> web.Application:
    """`wire(resources)` is an async function returning the service's subscriptions; it runs once
    the database, Redis and broker are open, and may start background tasks in `resources.background`.
    A service that keeps nothing durable passes `needs_mongo=False` (no database, no inbox).
    `contexts` are the service's own cleanup contexts: opened after the broker and before the
    consumers start, closed after the consumers have stopped (e.g. an HTTP client they use)."""
    app = web.Application(
        middlewares=[correlation_middleware, metrics_middleware, error_middleware, *middlewares],
        client_max_size=client_max_size,
    )
    app[RESOURCES] = Resources(settings=settings, service=service)
    app[RESOURCES].state_metrics.add("readiness", lambda: _readiness(app[RESOURCES]))
    if needs_mongo:
        app.cleanup_ctx.append(_mongo_ctx)
    app.cleanup_ctx.append(_redis_ctx)
    app.cleanup_ctx.append(_broker_ctx)
    app.cleanup_ctx.extend(contexts)
    if wire is not None:
        app.cleanup_ctx.append(_consumers_ctx(wire))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", _metrics_handler())
    # SIGTERM: the listener is closed first (aiohttp), then this stops the consumers taking messages
    # while in-flight HTTP requests and messages finish; the cleanup contexts wait for them.
    app.on_shutdown.append(_stop_taking_messages)
    return app


def _metrics_handler():
    exposition = make_aiohttp_handler()

    async def metrics(request: web.Request) -> web.StreamResponse:
        """Prometheus metrics of this process"""
        await request.app[RESOURCES].state_metrics.refresh()
        return await exposition(request)

    return metrics


async def _stop_taking_messages(app: web.Application) -> None:
    consumers = app[RESOURCES].consumers
    log.info("service.stopping", messages_in_flight=sum(c.in_flight for c in consumers))
    await asyncio.gather(*(c.pause() for c in consumers))


async def _mongo_ctx(app: web.Application) -> AsyncIterator[None]:
    res = app[RESOURCES]
    client, res.db = await connect_mongo(res.settings.mongodb_uri, res.settings.mongodb_database,
                                         startup_timeout=res.settings.startup_timeout)
    yield
    await client.close()


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    res = app[RESOURCES]
    res.redis = await connect_redis(res.settings.redis_url, startup_timeout=res.settings.startup_timeout)
    yield
    await res.redis.aclose()


async def _broker_ctx(app: web.Application) -> AsyncIterator[None]:
    res = app[RESOURCES]
    res.broker = Broker(res.settings.amqp_url, source=res.service)
    await res.broker.connect(res.settings.startup_timeout)
    res.rpc = RpcClient(res.broker, default_timeout=res.settings.rpc_timeout)
    await res.rpc.start()
    yield
    await res.broker.close()


def _consumers_ctx(wire):
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        res = app[RESOURCES]
        subscriptions = await wire(res)
        inbox = MongoInbox(res.db) if res.db is not None else None
        if inbox is not None:
            res.background.append(asyncio.create_task(_expire_inbox(res, inbox)))
        consumers = [
            Consumer(res.broker, sub, prefetch=res.settings.prefetch, max_attempts=res.settings.max_attempts, inbox=inbox)
            for sub in subscriptions
        ]
        for consumer in consumers:
            await consumer.start()
        res.consumers.extend(consumers)
        res.state_metrics.add("queues", queue_depth_probe(res.broker, [c.spec for c in consumers]))
        yield
        # Graceful shutdown: stop taking messages, finish those in hand, then stop background loops.
        await asyncio.gather(*(c.stop() for c in consumers))
        await cancel_and_wait(res.background)

    return ctx


async def _expire_inbox(res: Resources, inbox: MongoInbox) -> None:
    retention = timedelta(hours=res.settings.inbox_retention_hours)

    async def tick() -> None:
        removed = await inbox.forget_before(utc_now() - retention)
        if removed:
            log.info("inbox.expired", count=removed)

    await run_periodically_under_lease(Lease(res.redis, f"{res.service}:inbox-expiry", ttl_seconds=120), 60, tick)


async def healthz(request: web.Request) -> web.Response:
    """Alive: the process answers (liveness probe)."""
    return web.json_response({"status": "ok", "service": request.app[RESOURCES].service})


async def _check(name: str, probe) -> bool:
    try:
        async with asyncio.timeout(1.5):
            await probe()
        ok = True
    except Exception:
        ok = False
    DEPENDENCY_UP.labels(name).set(1 if ok else 0)
    return ok


async def readyz(request: web.Request) -> web.Response:
    """Ready: broker, database and Redis reachable; 503 when one is not (readiness probe)."""
    checks = await _readiness(request.app[RESOURCES])
    ready = all(checks.values())
    return web.json_response({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def _readiness(res: Resources) -> dict[str, bool]:
    """Each dependency's check, also recorded in `wagw_dependency_up` (refreshed by scrapes too)."""

    async def broker_probe():
        if not res.broker or not res.broker.is_connected:
            raise ConnectionError("broker not connected")

    checks = {"broker": await _check("broker", broker_probe)}
    if res.db is not None:
        checks["mongodb"] = await _check("mongodb", lambda: res.db.command("ping"))
    checks["redis"] = await _check("redis", lambda: res.redis.ping())
    return checks


def run_service(service: str, settings_cls: type, create_app: Callable[[Any], web.Application], **defaults: str) -> None:
    """The body of every service's `__main__`: settings from the environment, JSON logs, serve."""
    settings = load(settings_cls, **defaults)
    configure_logging(service, settings.log_level, settings.log_format)
    refusal = settings.refusal_to_start() if hasattr(settings, "refusal_to_start") else None
    if refusal is not None:
        log.error("service.refused_to_start", reason=refusal)
        raise SystemExit(f"{service}: {refusal}")
    log.info("service.starting", port=settings.port)
    # aiohttp turns SIGTERM into a graceful stop: no new connections, cleanup contexts unwound.
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None, shutdown_timeout=15,
                access_log=None, loop=new_event_loop())
    log.info("service.stopped")
