"""The attempt handler's guards and the recovery paths, with the real stores (the local MongoDB-
compatible server), jobs consumed through the dispatcher's router on the in-memory broker (the real
consumer: validation, retries), and stand-ins for publishing the next jobs and for the HTTP client:
duplicated and superseded jobs, a crash between recording an attempt and queueing the next, lost
jobs, events left in an outbox."""

import asyncio
import uuid
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import timedelta

import pytest
from pymongo import AsyncMongoClient

from harness.infra import MONGO_URI
from wagw_common.envelope import Envelope
from wagw_common.storage import utc_now
from wagw_common.testing import InMemoryBroker, MemoryRedis, serve
from wagw_common.topology import EVENTS, WEBHOOK_DELIVERIES
from wagw_webhook_dispatcher.deliveries_store import DeliveriesStore, new_ticket
from wagw_webhook_dispatcher.delivery_handlers import when_delivery_job_received_attempt_it
from wagw_webhook_dispatcher.deps import Deps
from wagw_webhook_dispatcher.event_bindings import EventBindings
from wagw_webhook_dispatcher.endpoints_store import EndpointsStore, new_endpoint
from wagw_webhook_dispatcher.events import WebhookEvents
from wagw_webhook_dispatcher.gate import EndpointGate
from wagw_webhook_dispatcher.maintenance import Maintenance
from wagw_webhook_dispatcher.retries import RetryPolicy
from wagw_webhook_dispatcher.router import events as events_queue
from wagw_webhook_dispatcher.router import router
from wagw_webhook_dispatcher.sender import Attempt

pytestmark = pytest.mark.integration


class FakeJobs:
    def __init__(self):
        self.queued: list[tuple] = []
        self.fail_next_later = False
        self.failed_later = 0
        self.turns: list[float | None] = []  # the expected turn each put-off was given
        self.tickets: list[str | None] = []  # the ticket each job queued now was given
        self.put_off_tickets: list[str | None] = []  # the ticket each put-off job carried on

    async def now(self, delivery_id, *, cycle=1, attempt=1, subject=None, ticket=None):
        self.queued.append(("now", delivery_id, cycle, attempt))
        self.tickets.append(ticket)

    async def later(self, delivery_id, *, cycle, attempt, delay, wait, deferrals=0, subject=None, ticket=None):
        if self.fail_next_later:
            self.fail_next_later, self.failed_later = False, self.failed_later + 1
            raise ConnectionError("broker unreachable")
        self.queued.append(("later", delivery_id, cycle, attempt))

    async def put_off(self, job, *, turn=None, subject=None):
        self.queued.append(("put_off", job["delivery_id"], job["cycle"], job["attempt"]))
        self.put_off_tickets.append(job.get("ticket"))
        self.turns.append(turn)
        return 0.1


class BrokerThatGoesAway(InMemoryBroker):
    """The in-memory broker, on which publishing an event fails while `down` (as across a broker restart)."""

    down = False

    async def publish(self, envelope, *, exchange, **kwargs):
        if self.down and exchange == EVENTS:
            raise ConnectionError("broker unreachable")
        await super().publish(envelope, exchange=exchange, **kwargs)


@pytest.fixture
async def world():
    client = AsyncMongoClient(MONGO_URI, tz_aware=True)
    name = f"wagw_test_dispatcher_{uuid.uuid4().hex[:8]}"
    db = client[name]
    endpoints, deliveries, jobs, posted = EndpointsStore(db), DeliveriesStore(db), FakeJobs(), []
    broker = BrokerThatGoesAway(source="webhook-dispatcher")
    await endpoints.ensure_indexes()
    await deliveries.ensure_indexes()
    answers: list[int | None] = []

    async def post(**request):
        posted.append(request)
        status = answers.pop(0) if answers else 200
        return Attempt(utc_now(), status, 1.0, None if status == 200 else f"HTTP {status}", "")

    deps = Deps(endpoints=endpoints, deliveries=deliveries, jobs=jobs,
                events=WebhookEvents(broker, endpoints.collection, deliveries.collection), post=post,
                bindings=EventBindings(broker, MemoryRedis(), endpoints.collection, events_queue.declared(),
                                       events_queue.bindings()),
                screen=None, gate=EndpointGate(2), policy=RetryPolicy((1.0, 2.0)), attempt_timeout=5,
                disable_after=3600, secret_overlap=0, delivery_concurrency=8)
    endpoint = new_endpoint(tenant_id="u_1", url="https://example.com/h", events=["*"], session_id=None,
                            description="", headers={}, secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    await endpoints.add(endpoint)
    delivery = await deliveries.create_once(endpoint=endpoint, event_id="evt_1", event_type="message.sent",
                                            payload={"type": "message.sent"})
    yield {"deps": deps, "jobs": jobs, "posted": posted, "answers": answers, "broker": broker,
           "delivery": delivery, "endpoint": endpoint}
    await client.drop_database(name)
    await client.close()


def job(delivery, cycle=1, attempt=1, envelope_id=None, deferrals=0, ticket=None):
    data = {"delivery_id": delivery["_id"], "cycle": cycle, "attempt": attempt, "deferrals": deferrals,
            "ticket": ticket}
    return Envelope(type="webhook.delivery.attempt", source="webhook-dispatcher", data=data,
                    id=envelope_id or uuid.uuid4().hex)


async def deliver(world, *jobs: Envelope) -> None:
    """Each job on the deliveries queue, handled (retries included) before the next is published."""
    broker = world["broker"]
    async with serve(router, world["deps"], broker):
        for envelope in jobs:
            await broker.publish(envelope, exchange="", routing_key=WEBHOOK_DELIVERIES.name)
            await broker.settled()


async def test_a_duplicated_job_makes_no_second_attempt(world):
    deps, delivery = world["deps"], world["delivery"]
    await deliver(world, job(delivery), job(delivery))
    stored = await deps.deliveries.get(delivery["_id"])
    assert stored["status"] == "succeeded" and len(stored["attempts"]) == 1 and len(world["posted"]) == 1


async def test_a_job_of_a_previous_cycle_is_ignored_after_a_redelivery(world):
    deps, delivery = world["deps"], world["delivery"]
    restarted = await deps.deliveries.start_cycle(delivery["endpoint_id"], delivery["_id"])
    assert restarted["cycle"] == 2
    await deliver(world, job(delivery, cycle=1))
    assert world["posted"] == []
    await deliver(world, job(delivery, cycle=2))
    assert len(world["posted"]) == 1


async def test_a_job_that_recorded_its_attempt_but_lost_the_next_one_queues_it_when_redelivered(world):
    deps, delivery, jobs = world["deps"], world["delivery"], world["jobs"]
    world["answers"].append(500)
    jobs.fail_next_later = True
    # The handler fails after recording the attempt; the consumer hands this very message back.
    await deliver(world, job(delivery, envelope_id="job-1"))
    assert jobs.failed_later == 1 and len(world["posted"]) == 1
    assert jobs.queued == [("later", delivery["_id"], 1, 2)]
    assert (await deps.deliveries.get(delivery["_id"]))["cycle_attempts"] == 1
    await deliver(world, job(delivery))  # another copy: nothing
    assert len(jobs.queued) == 1 and len(world["posted"]) == 1


async def test_a_success_ends_the_endpoints_failure_streak_and_writes_nothing_when_there_is_none(world):
    deps, delivery, endpoint = world["deps"], world["delivery"], world["endpoint"]
    world["answers"].append(500)
    await deliver(world, job(delivery))
    assert (await deps.endpoints.get(endpoint["_id"]))["failing_since"] is not None
    await deliver(world, job(delivery, attempt=2))
    assert (await deps.endpoints.get(endpoint["_id"]))["failing_since"] is None
    second = await deps.deliveries.create_once(endpoint=endpoint, event_id="evt_2", event_type="message.sent",
                                               payload={"type": "message.sent"})
    writes: list[str] = []
    note_success = deps.endpoints.note_success

    async def counted(endpoint):
        writes.append(endpoint["_id"])
        await note_success(endpoint)

    deps.endpoints.note_success = counted
    await deliver(world, job(second))
    assert (await deps.deliveries.get(second["_id"]))["status"] == "succeeded" and writes == []


async def test_a_busy_endpoint_puts_the_job_off_without_an_attempt(world):
    deps, delivery = world["deps"], world["delivery"]
    deps.gate.patience = 0.05
    async with deps.gate.enter(delivery["endpoint_id"]), deps.gate.enter(delivery["endpoint_id"]):
        await deliver(world, job(delivery))
    assert world["jobs"].queued == [("put_off", delivery["_id"], 1, 1)] and world["posted"] == []
    assert (await deps.deliveries.get(delivery["_id"]))["cycle_attempts"] == 0


async def test_a_job_put_off_for_a_busy_endpoint_it_has_timed_comes_back_for_its_turn(world):
    deps, delivery = world["deps"], world["delivery"]
    endpoint_id = delivery["endpoint_id"]
    async with deps.gate.enter(endpoint_id):
        await asyncio.sleep(0.2)  # the gate now knows an attempt there takes about 0.2 s
    deps.gate.patience = 0.05
    async with deps.gate.enter(endpoint_id), deps.gate.enter(endpoint_id):
        await deliver(world, job(delivery))
        # First in line behind two busy slots: one slot's share of an attempt (about 0.2 s / 2).
        first_in_line = deps.gate.expected_wait(endpoint_id, delivery["next_attempt_at"].timestamp())
    assert world["jobs"].queued == [("put_off", delivery["_id"], 1, 1)] and world["posted"] == []
    assert world["jobs"].turns == [first_in_line] and first_in_line > deps.gate.patience


async def test_a_deleted_endpoint_drops_its_delivery(world):
    deps, delivery = world["deps"], world["delivery"]
    await deps.endpoints.delete("u_1", delivery["endpoint_id"])
    await deliver(world, job(delivery))
    stored = await deps.deliveries.get(delivery["_id"])
    assert stored["status"] == "failed" and stored["failure_reason"] == "endpoint_deleted" and world["posted"] == []


async def test_stalled_deliveries_are_queued_again_once(world):
    deps, delivery, jobs = world["deps"], world["delivery"], world["jobs"]
    maintenance = Maintenance(deps, stalled_after=60, retention_days=30)
    assert await maintenance.requeue_stalled() == 0  # planned just now: not stalled
    await deps.deliveries.replan(delivery["_id"], utc_now() - timedelta(minutes=5))
    assert await maintenance.requeue_stalled() == 1
    assert jobs.queued == [("now", delivery["_id"], 1, 1)]
    assert await maintenance.requeue_stalled() == 0  # replanned: not again before another minute


async def test_an_event_whose_publish_failed_is_relayed_later(world):
    deps, delivery, broker = world["deps"], world["delivery"], world["broker"]
    world["answers"].extend([500, 500, 500])
    broker.down = True
    await deliver(world, *(job(delivery, attempt=attempt) for attempt in (1, 2, 3)))
    stored = await deps.deliveries.get(delivery["_id"])
    assert stored["status"] == "failed" and len(stored["outbox"]) == 1 and broker.events() == []
    broker.down = False
    assert await deps.events.relay_stale(timedelta(0)) == 1
    [event] = broker.events()
    assert event.type == "webhook.delivery_exhausted" and event.id == stored["outbox"][0]["id"]
    assert (await deps.deliveries.get(delivery["_id"]))["outbox"] == []


async def test_old_settled_deliveries_are_purged_and_pending_ones_kept(world):
    deps, delivery = world["deps"], world["delivery"]
    other = await deps.deliveries.create_once(endpoint=world["endpoint"], event_id="evt_2",
                                              event_type="message.sent", payload={})
    await deliver(world, job(other))
    assert await deps.deliveries.purge_settled(utc_now() + timedelta(seconds=1)) == 1
    assert await deps.deliveries.get(other["_id"]) is None and await deps.deliveries.get(delivery["_id"])


async def test_an_attempt_claimed_by_another_job_is_put_off_not_dropped(world):
    deps, delivery, jobs = world["deps"], world["delivery"], world["jobs"]
    # As if a replica had taken the attempt and died in the middle: its claim runs for a while yet.
    assert await deps.deliveries.claim(delivery["_id"], cycle=1, done=0, until=utc_now() + timedelta(seconds=30))
    await deliver(world, job(delivery))
    assert jobs.queued == [("put_off", delivery["_id"], 1, 1)] and world["posted"] == []


async def test_a_job_put_off_too_often_is_dropped_for_the_maintenance_loop_to_restart(world):
    deps, delivery = world["deps"], world["delivery"]
    await deliver(world, job(delivery, deferrals=10_000))
    assert world["jobs"].queued == [] and world["posted"] == []
    assert (await deps.deliveries.get(delivery["_id"]))["status"] == "pending"


def _count_reads(deps) -> list[str]:
    reads, get = [], deps.deliveries.get

    async def counted(delivery_id):
        reads.append(delivery_id)
        return await get(delivery_id)

    deps.deliveries.get = counted
    return reads


async def test_the_first_job_of_a_delivery_this_replica_created_attempts_it_without_reading_it(world):
    deps, delivery = world["deps"], world["delivery"]
    deps.fresh.remember(delivery)
    reads = _count_reads(deps)
    await deliver(world, job(delivery))
    assert reads == [] and len(world["posted"]) == 1
    assert (await deps.deliveries.collection.find_one({"_id": delivery["_id"]}))["status"] == "succeeded"
    # Handed out once: a duplicate of that job reads the delivery, finds the attempt made, and stops.
    await deliver(world, job(delivery))
    assert reads == [delivery["_id"]] and len(world["posted"]) == 1


async def test_a_remembered_delivery_changed_meanwhile_is_not_attempted_from_the_stale_copy(world):
    deps, delivery = world["deps"], world["delivery"]
    deps.fresh.remember(delivery)
    await deps.deliveries.give_up(delivery["_id"], "endpoint_deleted")  # e.g. by another replica
    await deliver(world, job(delivery))
    assert world["posted"] == []  # the claim's filter refused it
    assert ("put_off", delivery["_id"], 1, 1) in world["jobs"].queued
    assert (await deps.deliveries.get(delivery["_id"]))["status"] == "failed"


async def _created_claimed(world, *, lasting: float = 60.0) -> tuple[dict, str]:
    """A delivery created as the event handler creates it: claimed for its first job, under a ticket."""
    ticket = new_ticket()
    delivery = await world["deps"].deliveries.create_once(
        endpoint=world["endpoint"], event_id="evt_" + uuid.uuid4().hex, event_type="message.sent",
        payload={"type": "message.sent"}, ticket=ticket, claimed_until=utc_now() + timedelta(seconds=lasting))
    return delivery, ticket


def _count_claims(deps) -> list[str | None]:
    claims, claim = [], deps.deliveries.claim

    async def counted(delivery_id, **kwargs):
        claims.append(kwargs.get("ticket"))
        return await claim(delivery_id, **kwargs)

    deps.deliveries.claim = counted
    return claims


async def test_the_first_job_posts_under_the_claim_its_delivery_was_created_with(world):
    deps = world["deps"]
    delivery, ticket = await _created_claimed(world)
    deps.fresh.remember(delivery)
    reads, claims = _count_reads(deps), _count_claims(deps)
    await deliver(world, job(delivery, ticket=ticket))
    assert reads == [] and claims == [] and len(world["posted"]) == 1
    stored = await deps.deliveries.get(delivery["_id"])
    assert stored["status"] == "succeeded" and stored["cycle_attempts"] == 1


async def test_a_job_without_the_ticket_waits_for_the_claim_of_the_creation(world):
    """A duplicate job (a redelivered event queues one) may not post beside the first job."""
    jobs = world["jobs"]
    delivery, ticket = await _created_claimed(world)
    await deliver(world, job(delivery), job(delivery, ticket=new_ticket()))
    assert world["posted"] == [] and [q[0] for q in jobs.queued] == ["put_off", "put_off"]
    await deliver(world, job(delivery, ticket=ticket))  # read from the database: not this replica's copy
    assert len(world["posted"]) == 1


async def test_a_ticket_whose_claim_may_end_during_the_attempt_claims_again_under_it(world):
    deps = world["deps"]
    delivery, ticket = await _created_claimed(world, lasting=1.0)  # the attempt may take 5 s
    claims = _count_claims(deps)
    await deliver(world, job(delivery, ticket=ticket))
    assert claims == [ticket] and len(world["posted"]) == 1


async def test_a_job_put_off_hands_its_ticket_on(world):
    deps, jobs = world["deps"], world["jobs"]
    delivery, ticket = await _created_claimed(world)
    deps.gate.patience = 0.05
    async with AsyncExitStack() as busy:
        for _ in range(deps.gate.limit):  # every slot of the endpoint taken
            assert await busy.enter_async_context(deps.gate.enter(delivery["endpoint_id"]))
        await deliver(world, job(delivery, ticket=ticket))
    assert world["posted"] == [] and jobs.put_off_tickets == [ticket]


async def test_a_job_handed_out_again_does_not_post_under_its_ticket(world):
    """Whoever had it first may be posting it still (a channel lost mid-attempt): this one waits for the
    claim to end, and what it puts off carries no ticket."""
    deps, jobs = world["deps"], world["jobs"]
    delivery, ticket = await _created_claimed(world)
    await when_delivery_job_received_attempt_it(replace(job(delivery, ticket=ticket), redelivered=True), deps)
    assert world["posted"] == [] and jobs.put_off_tickets == [None]
    assert (await deps.deliveries.get(delivery["_id"]))["claim_ticket"] == ticket
