"""Every message the dispatcher consumes: its queue, its handler, and how it is consumed."""

from __future__ import annotations

from wagw_common import topology
from wagw_common.router import Router

from . import delivery_handlers as deliveries
from . import endpoint_handlers as endpoints
from .deps import Deps
from .fanout import DELIVERABLE_EVENTS
from .jobs import DELIVERY_JOB
from .settings import SERVICE


def _delivery_concurrency(deps: Deps) -> int:
    """as many jobs at once as the replica runs delivery attempts (`WEBHOOK_DELIVERY_CONCURRENCY`)"""
    return deps.delivery_concurrency


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

# Each type a customer can subscribe to, bound by name (the event catalog's subscribable types), and
# only while some enabled endpoint wants it (event_bindings.py), so an event nobody subscribed to
# never reaches the queue. A redelivered event finds its deliveries again (their ids derive from the
# event's) and re-queues only those whose first attempt never started: idempotent, so no inbox write.
events = router.queue(topology.WEBHOOK_EVENTS, inbox=False, bound_on_demand=(
    "while some enabled endpoint, of any tenant, subscribes to the type: bound before the endpoint's "
    "creation (enabling, new filter) is answered, unbound by a reconciliation under a Redis lock"))
for event_type in DELIVERABLE_EVENTS:
    events.on(event_type, deliveries.when_domain_event_occurred_queue_deliveries)

# Jobs are published to the queue by name (and come back from the wait queues the same way): no
# binding. The attempt handler is idempotent by itself (guarded updates), so no inbox write per job.
jobs = router.queue(topology.WEBHOOK_DELIVERIES, bound=False, inbox=False, prefetch=_delivery_concurrency)
jobs.on(DELIVERY_JOB, deliveries.when_delivery_job_received_attempt_it)

