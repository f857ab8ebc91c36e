"""Wiring: the stores, the HTTP client and the broker, bound to the handlers of each queue."""

from __future__ import annotations

from functools import partial
from typing import AsyncIterator

import aiohttp
from aiohttp import web

from wagw_common import topology
from wagw_common.consumer import Subscription
from wagw_common.service import RESOURCES, Resources, create_service_app

from . import handlers, sender
from .deliveries_store import DeliveriesStore
from .endpoints_store import EndpointsStore
from .fanout import DELIVERABLE_EVENTS
from .jobs import DELIVERY_JOB, enqueue_delivery
from .settings import SERVICE, Settings

HTTP_CLIENT = web.AppKey("webhook_http_client", aiohttp.ClientSession)


def create_app(settings: Settings) -> web.Application:
    # The HTTP client is a context of its own, so it outlives the consumers whose deliveries are in flight.
    app = create_service_app(SERVICE, settings, wire=lambda res: wire(res, app), contexts=(_http_client_ctx,))
    return app


async def _http_client_ctx(app: web.Application) -> AsyncIterator[None]:
    settings: Settings = app[RESOURCES].settings
    app[HTTP_CLIENT] = aiohttp.ClientSession(
        # No cookies: one customer's endpoint must never set state seen by another's deliveries.
        cookie_jar=aiohttp.DummyCookieJar(),
        connector=aiohttp.TCPConnector(limit=settings.delivery_concurrency * 2),
        trust_env=False,
    )
    yield
    await app[HTTP_CLIENT].close()


async def wire(res: Resources, app: web.Application) -> list[Subscription]:
    settings: Settings = res.settings
    endpoints, deliveries = EndpointsStore(res.db), DeliveriesStore(res.db)
    await endpoints.ensure_indexes()
    await deliveries.ensure_indexes()
    post = partial(sender.post_signed, app[HTTP_CLIENT], timeout=settings.webhook_timeout)
    fan_out = partial(handlers.when_domain_event_occurred_queue_deliveries, endpoints=endpoints, deliveries=deliveries,
                      enqueue=partial(enqueue_delivery, res.broker))
    return [
        Subscription(topology.WEBHOOK_COMMANDS, {
            "webhook.endpoint.create": partial(handlers.when_endpoint_create_requested_register_it, endpoints=endpoints,
                                               allow_private_networks=settings.allow_private_networks),
            "webhook.endpoint.list": partial(handlers.when_endpoint_list_requested_list_them, endpoints=endpoints),
            "webhook.delivery.list": partial(handlers.when_delivery_list_requested_list_them, endpoints=endpoints,
                                             deliveries=deliveries),
        }),
        Subscription(topology.WEBHOOK_EVENTS, {event_type: fan_out for event_type in DELIVERABLE_EVENTS}),
        Subscription(topology.WEBHOOK_DELIVERIES, {
            DELIVERY_JOB: partial(handlers.when_delivery_job_received_attempt_it, endpoints=endpoints,
                                  deliveries=deliveries, post=post, max_attempts=settings.max_attempts),
        }, prefetch=settings.delivery_concurrency),
    ]
