"""The dispatcher's router: the queues the topology lists, each bound to exactly what it handles."""

from types import SimpleNamespace

import pytest

from wagw_common import topology
from wagw_common.contracts import Kind, of_kind
from wagw_common.settings import load

from wagw_webhook_dispatcher.router import router
from wagw_webhook_dispatcher.settings import Settings

pytestmark = pytest.mark.unit


def _queues() -> dict:
    router.check()  # exactly the queues topology.SERVICE_QUEUES lists for the dispatcher
    return {queue.spec.name: queue for queue in router}


def test_every_session_and_message_event_may_be_bound_by_name_and_nothing_else():
    events = _queues()[topology.WEBHOOK_EVENTS.name]
    published = {c.type for c in of_kind(Kind.EVENT) if c.type.startswith(("session.", "message."))}
    assert set(events.bindings()) == {(topology.EVENTS, event_type) for event_type in published}
    assert not events.inbox  # the fan-out is idempotent on the event's id


def test_the_events_queue_is_declared_unbound_its_types_being_bound_while_an_endpoint_wants_them():
    events = _queues()[topology.WEBHOOK_EVENTS.name]
    assert events.bound_on_demand and events.declared().bindings == ()
    assert events.declared().retired_bindings == topology.WEBHOOK_EVENTS.retired_bindings


def test_delivery_jobs_come_by_queue_name_as_many_at_once_as_the_replica_runs_attempts():
    deliveries = _queues()[topology.WEBHOOK_DELIVERIES.name]
    concurrency = load(Settings, {"WEBHOOK_DELIVERY_CONCURRENCY": "7"}).delivery_concurrency
    subscription = deliveries.subscription(SimpleNamespace(delivery_concurrency=concurrency))
    assert deliveries.bindings() == () and subscription.prefetch == 7 and not deliveries.inbox
    assert set(deliveries.routes) == {"webhook.delivery.attempt"}


def test_endpoint_and_delivery_log_queries_are_bound_on_the_commands_exchange():
    commands = _queues()[topology.WEBHOOK_COMMANDS.name]
    assert {key for exchange, key in commands.bindings() if exchange == topology.COMMANDS} == set(commands.routes)
    assert "webhook.endpoint.create" in commands.routes and commands.inbox

