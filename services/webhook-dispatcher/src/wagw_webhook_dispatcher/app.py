"""Composition root: the connections, the one dependency object on them (stores, jobs, the guarded
HTTP client), the router, and the maintenance loop."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import AsyncIterator

from aiohttp import web
from aiohttp.abc import AbstractResolver

from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.service import Resources, create_service_app

from . import gauges
from .deliveries_store import DeliveriesStore
from .deps import Deps
from .endpoints_store import EndpointsStore
from .events import WebhookEvents
from .gate import EndpointGate
from .jobs import DeliveryJobs
from .maintenance import Maintenance
from .retries import RetryPolicy
from .event_bindings import EventBindings
from .router import events as events_queue
from .router import router
from .sender import WebhookClient
from .settings import SERVICE, Settings
from .ssrf import GuardedResolver, registration_refusal


def create_app(settings: Settings, *, dns: AbstractResolver | None = None) -> web.Application:
    """`dns` replaces the system resolver (tests); every answer still goes through the SSRF guard."""
    res = Resources.open_lazily(SERVICE, settings)
    endpoints, deliveries = EndpointsStore(res.database, res.redis), DeliveriesStore(res.database)
    policy = RetryPolicy(settings.retry_schedule, settings.retry_jitter, settings.busy_schedule)
    client = WebhookClient(settings.allowed_destinations, limit=settings.delivery_concurrency * 2,
                           timeout=settings.webhook_timeout, dns=dns)
    jobs = DeliveryJobs(res.broker, policy)
    deps = Deps(
        endpoints=endpoints, deliveries=deliveries, jobs=jobs,
        events=WebhookEvents(res.broker, endpoints.collection, deliveries.collection),
        bindings=EventBindings(res.broker, res.redis, endpoints.collection, events_queue.declared(),
                               events_queue.bindings()),
        post=client.post,
        screen=partial(registration_refusal, resolver=GuardedResolver(settings.allowed_destinations, dns)),
        gate=EndpointGate(settings.endpoint_concurrency, waiting_room=settings.delivery_concurrency),
        policy=policy, attempt_timeout=settings.webhook_timeout, disable_after=settings.disable_after,
        secret_overlap=settings.secret_overlap, delivery_concurrency=settings.delivery_concurrency,
    )

    async def startup(res: Resources) -> None:
        await deps.endpoints.ensure_indexes()
        await deps.deliveries.ensure_indexes()
        res.state_metrics.add("webhooks", gauges.probe(deps.endpoints.collection, deps.deliveries.collection))
        await deps.deliveries.upgrade_earlier_deliveries()
        await jobs.declare()
        await deps.bindings.reconcile()  # before the consumers start: what the endpoints stored want
        maintenance = Maintenance(deps, stalled_after=settings.stalled_after,
                                  retention_days=settings.delivery_retention_days)
        lease = Lease(res.redis, f"{SERVICE}:maintenance", ttl_seconds=max(settings.sweep_interval * 3, 30))
        res.background.append(asyncio.create_task(
            run_periodically_under_lease(lease, settings.sweep_interval, maintenance.tick)))

    async def http_client_ctx(app: web.Application) -> AsyncIterator[None]:
        # A context of its own: open before the consumers start, closed after they stopped, so the
        # attempts in flight at shutdown finish with it.
        await client.open()
        yield
        await client.close()

    return create_service_app(res, router=router, deps=deps, startup=startup,
                              contexts=(http_client_ctx,))
