"""The scaffolding of every service: an aiohttp app whose connections live in cleanup contexts.

A service's `create_app` makes its `Resources` (clients, not yet connected), builds its one frozen
dependency object on them, and hands both with its router to `create_service_app`, which waits for
MongoDB, Redis and the broker (retrying at start-up), runs the service's start-up work, serves
`/healthz`, `/readyz` and `/metrics`, and consumes the router's queues."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client.aiohttp import make_aiohttp_handler
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from .broker import Broker
from .consumer import Consumer, new_replica_id
from .fast_runtime import new_event_loop
from .http import correlation_middleware, error_middleware, metrics_middleware
from .logging import configure_logging, get_logger
from .metrics import DEPENDENCY_UP
from .rpc import RpcClient
from .settings import load
from .lease import Lease, run_periodically_under_lease
from .state_metrics import StateMetrics, queue_depth_probe
from .router import Router
from .storage import MongoInbox, mongo_client, redis_client, utc_now, wait_for_mongo, wait_for_redis
from .tasks import cancel_and_wait

log = get_logger(__name__)


@dataclass(frozen=True)
class Resources:
    """The connections a service's dependencies are built on. `open_lazily` makes the clients without
    any I/O, so the service's frozen dependency object can be built before the app starts; the
    cleanup contexts of `create_service_app` then wait for each server and close it at the end."""

    settings: Any
    service: str
    mongo: AsyncMongoClient[Any] | None
    redis: aioredis.Redis
    broker: Broker
    rpc: RpcClient
    # Loops a service starts at start-up, cancelled after its consumers stopped.
    background: list[asyncio.Task[Any]] = field(default_factory=list)
    # Gauges of shared state (queue depths, documents by status), read when /metrics is scraped.
    state_metrics: StateMetrics = field(default_factory=StateMetrics)
    consumers: list[Consumer] = field(default_factory=list)
    # Names this process's own queue of a per-replica family (a service that binds it itself needs it).
    replica_id: str = field(default_factory=new_replica_id)

    @classmethod
    def open_lazily(cls, service: str, settings: Any, *, needs_mongo: bool = True) -> "Resources":
        """A service that keeps nothing durable passes `needs_mongo=False` (no database, no inbox).
        `settings`: the service's, `CommonSettings` and, when it needs MongoDB, `MongoSettings`."""
        broker = Broker(settings.amqp_url, source=service)
        return cls(settings=settings, service=service,
                   mongo=mongo_client(settings.mongodb_uri) if needs_mongo else None,
                   redis=redis_client(settings.redis_url), broker=broker,
                   rpc=RpcClient(broker, default_timeout=settings.rpc_timeout))

    @property
    def db(self) -> AsyncDatabase[Any] | None:
        return self.mongo[self.settings.mongodb_database] if self.mongo is not None else None

    @property
    def database(self) -> AsyncDatabase[Any]:
        """`db` for a service that keeps documents: one opened with `needs_mongo=False` has none."""
        if self.mongo is None:
            raise RuntimeError(f"{self.service} was opened without MongoDB (needs_mongo=False): it has no database")
        return self.mongo[self.settings.mongodb_database]


RESOURCES = web.AppKey("resources", Resources)
CleanupContext = Callable[[web.Application], AsyncIterator[None]]
Startup = Callable[[Resources], Awaitable[None]]


def create_service_app(
    resources: Resources,
    *,
    router: Router[Any] | None = None,
    deps: Any = None,
    startup: Startup | None = None,
    middlewares: tuple[Middleware, ...] = (),
    client_max_size: int = 1024**2,
    contexts: tuple[CleanupContext, ...] = (),
) -> web.Application:
    """The service's app: its connections opened (and awaited) in order, then `startup(resources)`
    (indexes, background loops), then the consumers of `router`, each handler called with `deps`.
    `contexts` are the service's own cleanup contexts: opened after the broker and before the
    consumers start, closed after the consumers have stopped (e.g. an HTTP client they use)."""
    app = web.Application(
        middlewares=[correlation_middleware, metrics_middleware, error_middleware, *middlewares],
        client_max_size=client_max_size,
    )
    app[RESOURCES] = resources
    resources.state_metrics.add("readiness", lambda: _readiness(resources))
    if resources.mongo is not None:
        app.cleanup_ctx.append(_mongo_ctx)
    app.cleanup_ctx.append(_redis_ctx)
    app.cleanup_ctx.append(_broker_ctx)
    app.cleanup_ctx.extend(contexts)
    app.cleanup_ctx.append(_consumers_ctx(router, deps, startup))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", _metrics_handler())
    # SIGTERM: the listener is closed first (aiohttp), then this stops the consumers taking messages
    # while in-flight HTTP requests and messages finish; the cleanup contexts wait for them.
    app.on_shutdown.append(_stop_taking_messages)
    return app


def _metrics_handler() -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
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
    assert res.mongo is not None  # only added for a service with a database
    await wait_for_mongo(res.mongo, startup_timeout=res.settings.startup_timeout)
    yield
    await res.mongo.close()


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    res = app[RESOURCES]
    await wait_for_redis(res.redis, startup_timeout=res.settings.startup_timeout)
    yield
    await res.redis.aclose()


async def _broker_ctx(app: web.Application) -> AsyncIterator[None]:
    res = app[RESOURCES]
    await res.broker.connect(res.settings.startup_timeout)
    await res.rpc.start()
    yield
    await res.broker.close()


def _consumers_ctx(router: Router[Any] | None, deps: Any, startup: Startup | None) -> CleanupContext:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        res = app[RESOURCES]
        if startup is not None:
            await startup(res)
        subscriptions = router.subscriptions(deps) if router is not None else []
        inbox = MongoInbox(res.db) if res.db is not None else None
        if inbox is not None and subscriptions:
            res.background.append(asyncio.create_task(_expire_inbox(res, inbox)))
        consumers = [
            Consumer(res.broker, sub, prefetch=res.settings.prefetch, max_attempts=res.settings.max_attempts,
                     inbox=inbox, replica_id=res.replica_id)
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


async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> bool:
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

    async def broker_probe() -> None:
        if not res.broker or not res.broker.is_connected:
            raise ConnectionError("broker not connected")

    checks = {"broker": await _check("broker", broker_probe)}
    db = res.db
    if db is not None:
        checks["mongodb"] = await _check("mongodb", lambda: db.command("ping"))
    checks["redis"] = await _check("redis", lambda: res.redis.ping())
    return checks


def run_service(service: str, settings_cls: type, create_app: Callable[[Any], web.Application],
                **defaults: str) -> None:
    """The body of every service's `__main__`: settings from the environment, JSON logs, serve."""
    settings = load(settings_cls, None, **defaults)
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
