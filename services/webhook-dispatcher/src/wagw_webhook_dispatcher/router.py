"""Every message the dispatcher consumes: its queue, its handler, and how it is consumed."""

from __future__ import annotations

from wagw_common import topology
from wagw_common.router import Router
from wagw_common.settings import load

from . import delivery_handlers as deliveries
from . import endpoint_handlers as endpoints
from .deps import Deps
from .fanout import DELIVERABLE_EVENTS
from .jobs import DELIVERY_JOB
from .settings import SERVICE, Settings


def declare(delivery_concurrency: int) -> Router[Deps]:
    """The deliveries queue takes as many jobs at once as the replica runs attempts
    (WEBHOOK_DELIVERY_CONCURRENCY): the app declares its router with the replica's setting."""
    router: Router[Deps] = Router(SERVICE)

    commands = router.queue(topology.WEBHOOK_COMMANDS)
    commands.on("webhook.endpoint.create", endpoints.when_endpoint_create_requested_register_it)
    commands.on("webhook.endpoint.list", endpoints.when_endpoint_list_requested_list_them)
    commands.on("webhook.endpoint.get", endpoints.when_endpoint_requested_return_it)
    commands.on("webhook.endpoint.update", endpoints.when_endpoint_update_requested_change_it)
    commands.on("webhook.endpoint.delete", endpoints.when_endpoint_delete_requested_delete_it)
    commands.on("webhook.endpoint.enable", endpoints.when_endpoint_enable_requested_enable_it)
    commands.on("webhook.endpoint.disable", endpoints.when_endpoint_disable_requested_disable_it)
    commands.on("webhook.endpoint.rotate_secret", endpoints.when_secret_rotation_requested_rotate_it)
    commands.on("webhook.endpoint.test", endpoints.when_test_event_requested_send_it)
    commands.on("webhook.delivery.list", deliveries.when_delivery_list_requested_list_them)
    commands.on("webhook.delivery.get", deliveries.when_delivery_requested_return_it)
    commands.on("webhook.delivery.redeliver", deliveries.when_redelivery_requested_start_again)

    # Each type a customer can subscribe to, bound by name (the event catalog's subscribable types),
    # so an event nobody can subscribe to never reaches the queue. A redelivered event finds its
    # deliveries again (their ids derive from the event's) and re-queues only those whose first
    # attempt never started: idempotent, so no inbox write per event.
    events = router.queue(topology.WEBHOOK_EVENTS, inbox=False)
    for event_type in DELIVERABLE_EVENTS:
        events.on(event_type, deliveries.when_domain_event_occurred_queue_deliveries)

    # Jobs are published to the queue by name (and come back from the wait queues the same way): no
    # binding. The attempt handler is idempotent by itself (guarded updates), so no inbox write per job.
    jobs = router.queue(topology.WEBHOOK_DELIVERIES, bound=False, inbox=False, prefetch=delivery_concurrency)
    jobs.on(DELIVERY_JOB, deliveries.when_delivery_job_received_attempt_it)
    return router


# What the topology reference and the routing tests read of every service (`<package>.router.router`):
# the same declaration, at the default concurrency.
router = declare(load(Settings, {}).delivery_concurrency)
