"""A per-replica queue: its own name per replica, bound like its family, dead-lettering into the
family's dead-letter queue, and deleted by the broker some time after its replica went away."""

import pytest
from wagw_common import topology
from wagw_common.consumer import Consumer, Subscription

pytestmark = pytest.mark.unit


def test_a_replica_queue_stands_for_its_family():
    family = topology.REALTIME_EVENTS
    assert family.per_replica
    mine = family.for_replica("abc")
    assert (mine.name, mine.label, mine.dead_letter_name) == (
        "realtime.events.replica.abc", "realtime.events", "realtime.events.dead-letter")
    assert mine.bindings == family.bindings and not mine.per_replica
    arguments = mine.arguments()
    assert arguments["x-dead-letter-routing-key"] == "realtime.events"
    assert arguments["x-expires"] == topology.REPLICA_QUEUE_EXPIRES_MS
    assert "x-expires" not in topology.WEBHOOK_EVENTS.arguments()  # shared queues never expire


def test_each_consumer_of_a_per_replica_spec_gets_a_queue_of_its_own_counted_under_the_family():
    subscription = Subscription(topology.REALTIME_EVENTS, {})
    first, second = (Consumer(None, subscription, prefetch=1, max_attempts=1) for _ in range(2))
    assert first.spec.name != second.spec.name
    assert first.queue_name == second.queue_name == "realtime.events"
    shared = Consumer(None, Subscription(topology.WEBHOOK_EVENTS, {}), prefetch=1, max_attempts=1)
    assert shared.spec is topology.WEBHOOK_EVENTS
