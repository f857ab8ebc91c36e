"""Wiring: the stores, the guarded HTTP client and the broker, bound to the handlers of each queue."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any, AsyncIterator

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver

from wagw_common import topology
from wagw_common.consumer import Subscription
from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.service import RESOURCES, Resources, create_service_app

from . import delivery_handlers as deliveries_h
from . import gauges
from . import endpoint_handlers as endpoints_h
from .deliveries_store import DeliveriesStore
from .deps import Deps
from .endpoints_store import EndpointsStore
from .events import WebhookEvents
from .fanout import DELIVERABLE_EVENTS
from .gate import EndpointGate
from .jobs import DELIVERY_JOB, DeliveryJobs
from .maintenance import Maintenance
from .retries import RetryPolicy
from .sender import http_client, post_signed
from .settings import SERVICE, Settings
from .ssrf import GuardedResolver, registration_refusal

HTTP_CLIENT = web.AppKey("webhook_http_client", aiohttp.ClientSession)
DNS = web.AppKey("webhook_dns", object)


def create_app(settings: Settings, *, dns: AbstractResolver | None = None) -> web.Application:
    """`dns` replaces the system resolver (tests); every answer still goes through the SSRF guard."""
    # The HTTP client is a context of its own, so it outlives the consumers whose deliveries are in flight.
    app = create_service_app(SERVICE, settings, wire=lambda res: wire(res, app), contexts=(_http_client_ctx,))
    app[DNS] = dns
    return app


async def _http_client_ctx(app: web.Application) -> AsyncIterator[None]:
    settings: Settings = app[RESOURCES].settings
    app[HTTP_CLIENT] = http_client(settings.allowed_destinations, limit=settings.delivery_concurrency * 2, dns=app[DNS])
    yield
    await app[HTTP_CLIENT].close()


def _handlers(deps: Deps, names: dict[str, Any]) -> dict[str, Any]:
    return {message_type: partial(handler, deps=deps) for message_type, handler in names.items()}


async def wire(res: Resources, app: web.Application) -> list[Subscription]:
    settings: Settings = res.settings
    endpoints, deliveries = EndpointsStore(res.db, res.redis), DeliveriesStore(res.db)
    await endpoints.ensure_indexes()
    await deliveries.ensure_indexes()
    res.state_metrics.add("webhooks", gauges.probe(endpoints.collection, deliveries.collection))
    await deliveries.upgrade_earlier_deliveries()
    policy = RetryPolicy(settings.retry_schedule, settings.retry_jitter, settings.busy_schedule)
    jobs = DeliveryJobs(res.broker, policy)
    await jobs.declare()
    screen = GuardedResolver(settings.allowed_destinations, app[DNS])
    deps = Deps(
        endpoints=endpoints, deliveries=deliveries, jobs=jobs,
        events=WebhookEvents(res.broker, endpoints.collection, deliveries.collection),
        post=partial(post_signed, app[HTTP_CLIENT], settings.allowed_destinations, timeout=settings.webhook_timeout),
        screen=partial(registration_refusal, resolver=screen),
        gate=EndpointGate(settings.endpoint_concurrency, waiting_room=settings.delivery_concurrency),
        policy=policy, attempt_timeout=settings.webhook_timeout, disable_after=settings.disable_after,
        secret_overlap=settings.secret_overlap,
    )
    maintenance = Maintenance(deps, stalled_after=settings.stalled_after,
                              retention_days=settings.delivery_retention_days)
    lease = Lease(res.redis, f"{SERVICE}:maintenance", ttl_seconds=max(settings.sweep_interval * 3, 30))
    res.background.append(asyncio.create_task(
        run_periodically_under_lease(lease, settings.sweep_interval, maintenance.tick)))
    return [
        Subscription(topology.WEBHOOK_COMMANDS, _handlers(deps, {
            "webhook.endpoint.create": endpoints_h.when_endpoint_create_requested_register_it,
            "webhook.endpoint.list": endpoints_h.when_endpoint_list_requested_list_them,
            "webhook.endpoint.get": endpoints_h.when_endpoint_requested_return_it,
            "webhook.endpoint.update": endpoints_h.when_endpoint_update_requested_change_it,
            "webhook.endpoint.delete": endpoints_h.when_endpoint_delete_requested_delete_it,
            "webhook.endpoint.enable": endpoints_h.when_endpoint_enable_requested_enable_it,
            "webhook.endpoint.disable": endpoints_h.when_endpoint_disable_requested_disable_it,
            "webhook.endpoint.rotate_secret": endpoints_h.when_secret_rotation_requested_rotate_it,
            "webhook.endpoint.test": endpoints_h.when_test_event_requested_send_it,
            "webhook.delivery.list": deliveries_h.when_delivery_list_requested_list_them,
            "webhook.delivery.get": deliveries_h.when_delivery_requested_return_it,
            "webhook.delivery.redeliver": deliveries_h.when_redelivery_requested_start_again,
        })),
        # A redelivered event finds its deliveries again (their ids derive from the event's) and only
        # re-queues those whose first attempt never started: idempotent, so no inbox write per event.
        Subscription(topology.WEBHOOK_EVENTS, {t: partial(deliveries_h.when_domain_event_occurred_queue_deliveries,
                                                          deps=deps) for t in DELIVERABLE_EVENTS}, use_inbox=False),
        # The attempt handler is idempotent by itself (guarded updates), so no inbox write per job.
        Subscription(topology.WEBHOOK_DELIVERIES, {DELIVERY_JOB: partial(
            deliveries_h.when_delivery_job_received_attempt_it, deps=deps)},
            prefetch=settings.delivery_concurrency, use_inbox=False),
    ]
