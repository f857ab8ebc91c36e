"""Deliveries: from a domain event to one delivery per interested endpoint, one attempt per job,
and the delivery log (list, one delivery, redeliver by hand)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from wagw_common.contracts import contract_for
from wagw_common.envelope import Envelope
from wagw_common.errors import Conflict, NotFound
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from . import retries
from .deliveries_store import FAILED, PENDING, SUCCEEDED, delivery_detail, delivery_view, holds_claim, new_ticket
from .deps import Deps
from .endpoint_handlers import owned_endpoint
from .endpoints_store import signing_secrets
from .events import failing_reason
from .fanout import matching_endpoints, webhook_payload
from .metrics import ATTEMPT_LATENCY, ATTEMPTS, DEFERRED, DISABLED
from .sender import Attempt

log = get_logger(__name__)
# A claimed attempt is someone's for its timeout plus this, after which another job may take it.
CLAIM_MARGIN_SECONDS = 30
# A job posts under the claim its delivery was created with if that claim outlasts the attempt by this.
HELD_CLAIM_SLACK_SECONDS = 5
# A job put off this many times is dropped; if its delivery is still pending, the maintenance loop
# queues it again once it is WEBHOOK_STALLED_AFTER_SECONDS late (a bound on any put-off loop).
MAX_DEFERRALS = 200


async def when_domain_event_occurred_queue_deliveries(envelope: Envelope, deps: Deps) -> None:
    tenant_id = envelope.data.get("tenant_id")
    if not tenant_id:
        return  # not a customer's event
    candidates = await deps.endpoints.enabled_for_tenant(tenant_id)
    wanted = matching_endpoints(candidates, tenant_id=tenant_id, event_type=envelope.type,
                                session_id=envelope.data.get("session_id"))
    if not wanted:
        return
    data = contract_for(envelope.type).serialise(envelope.data)
    payload = webhook_payload(envelope.type, envelope.time, data)
    for endpoint in wanted:
        ticket = new_ticket()
        delivery = await deps.deliveries.create_once(endpoint=endpoint, event_id=envelope.id,
                                                     event_type=envelope.type, payload=payload, ticket=ticket,
                                                     claimed_until=_claim_end(deps))
        # A redelivered event re-queues deliveries still in their first attempt: their job may never
        # have been published. A duplicate job is harmless (see DeliveriesStore.claim); it gets no ticket.
        if delivery["status"] == PENDING and delivery["cycle"] == 1 and delivery["cycle_attempts"] == 0:
            deps.fresh.remember(delivery)
            await deps.jobs.now(delivery["_id"], subject=endpoint["_id"],
                                ticket=ticket if delivery.get("claim_ticket") == ticket else None)
    log.info("webhook.deliveries_queued", tenant_id=tenant_id, endpoints=[e["_id"] for e in wanted])


def _claim_end(deps: Deps) -> datetime:
    return utc_now() + timedelta(seconds=deps.attempt_timeout + CLAIM_MARGIN_SECONDS)


async def _reschedule_lost_successor(deps: Deps, delivery: dict[str, Any], job: dict[str, Any]) -> None:
    """This very job recorded its attempt, then failed before queueing the next one (it is being
    redelivered to us): queue the next one now, for the time that was planned."""
    remaining = max(0.0, (delivery["next_attempt_at"] - utc_now()).total_seconds())
    if remaining <= 0:
        await deps.jobs.now(delivery["_id"], cycle=job["cycle"], attempt=job["attempt"] + 1,
                            subject=delivery["endpoint_id"])
    else:
        await deps.jobs.later(delivery["_id"], cycle=job["cycle"], attempt=job["attempt"] + 1,
                              delay=deps.policy.queue_for(remaining), wait=remaining, subject=delivery["endpoint_id"])


async def when_delivery_job_received_attempt_it(envelope: Envelope, deps: Deps) -> None:
    # Handed out before, the job may still be in the hands of whoever had it: its ticket is not honoured.
    job = {**envelope.data, "ticket": None} if envelope.redelivered else envelope.data
    delivery = deps.fresh.take(job) or await deps.deliveries.get(job["delivery_id"])
    if delivery is None or delivery["status"] != PENDING or delivery["cycle"] != job["cycle"] \
            or delivery["cycle_attempts"] >= job["attempt"]:
        if delivery is not None and delivery.get("last_job") == envelope.id and delivery["status"] == PENDING \
                and delivery["cycle"] == job["cycle"] and delivery["cycle_attempts"] == job["attempt"]:
            await _reschedule_lost_successor(deps, delivery, job)
        log.info("webhook.job_obsolete", delivery_id=job["delivery_id"])
        return
    endpoint = await deps.endpoints.current(delivery["tenant_id"], delivery["endpoint_id"])
    if endpoint is None or not (endpoint["enabled"] or delivery.get("test")):
        reason = "endpoint_deleted" if endpoint is None else "endpoint_disabled"
        await deps.deliveries.give_up(delivery["_id"], reason)
        log.info("webhook.delivery_dropped", delivery_id=delivery["_id"], reason=reason)
        return
    done = delivery["cycle_attempts"]
    if job["deferrals"] >= MAX_DEFERRALS:
        log.warning("webhook.job_put_off_too_often", delivery_id=delivery["_id"], deferrals=job["deferrals"])
        return
    # Due since its planned time (its creation, a retry's planned moment), however often it was put off.
    due = delivery["next_attempt_at"].timestamp()
    async with deps.gate.enter(endpoint["_id"], due=due) as entered:
        if not entered:
            delay = await deps.jobs.put_off(job, turn=deps.gate.expected_wait(endpoint["_id"], due),
                                            subject=endpoint["_id"])
            DEFERRED.inc()
            log.info("webhook.attempt_put_off", delivery_id=delivery["_id"], endpoint_id=endpoint["_id"], delay=delay)
            return
        ticket = job.get("ticket")
        held = holds_claim(delivery, ticket,
                           until=utc_now() + timedelta(seconds=deps.attempt_timeout + HELD_CLAIM_SLACK_SECONDS))
        if not held and not await deps.deliveries.claim(delivery["_id"], cycle=job["cycle"], done=done,
                                                        until=_claim_end(deps), ticket=ticket):
            # Another job is making this attempt (a duplicate), or made it, or its replica died in the
            # middle: come back shortly; by then it is recorded (this job is obsolete) or the claim expired.
            await deps.jobs.put_off(job, subject=endpoint["_id"])
            log.info("webhook.attempt_claimed_elsewhere", delivery_id=delivery["_id"])
            return
        # webhook-id is the event's id: the same on every attempt, so the receiver can drop duplicates.
        attempt = await deps.post(url=endpoint["url"], secrets=signing_secrets(endpoint, utc_now()),
                                  message_id=delivery["event_id"], body=json.dumps(delivery["payload"],
                                                                                    separators=(",", ":")),
                                  headers=endpoint.get("headers") or {})
    await _settle(deps, envelope, delivery, endpoint, job, done + 1, attempt)


async def _settle(deps: Deps, envelope: Envelope, delivery: dict[str, Any], endpoint: dict[str, Any],
                  job: dict[str, Any], number: int, attempt: Attempt) -> None:
    decision = deps.policy.decide(number, attempt.status_code, attempt.retry_after)
    ATTEMPTS.labels(decision.outcome).inc()
    ATTEMPT_LATENCY.observe(attempt.latency_ms / 1000)
    changes: dict[str, Any] = {"last_job": envelope.id, "next_attempt_at": None}
    event = None
    if decision.outcome == retries.SUCCESS:
        changes["status"] = SUCCEEDED
    elif decision.outcome == retries.RETRY:
        changes["next_attempt_at"] = attempt.at + timedelta(seconds=decision.wait)
    else:
        changes.update(status=FAILED, failure_reason="exhausted" if decision.outcome == retries.EXHAUSTED
                       else "endpoint_gone")
        if decision.outcome == retries.EXHAUSTED:
            event = deps.events.delivery_exhausted(delivery, attempts=len(delivery["attempts"]) + 1,
                                                   status_code=attempt.status_code, error=attempt.error)
    recorded = await deps.deliveries.record(delivery["_id"], cycle=job["cycle"], done=number - 1,
                                            attempt=attempt.record(cycle=job["cycle"], attempt=number),
                                            changes=changes, event=event)
    log.info("webhook.delivery_attempted", delivery_id=delivery["_id"], endpoint_id=endpoint["_id"],
             attempt=number, outcome=decision.outcome, status_code=attempt.status_code,
             latency_ms=attempt.latency_ms, error=attempt.error, recorded=recorded)
    if not recorded:
        return  # superseded meanwhile (redelivered by hand, or deleted)
    if decision.outcome == retries.RETRY:
        await deps.jobs.later(delivery["_id"], cycle=job["cycle"], attempt=number + 1, delay=decision.delay,
                              wait=decision.wait, subject=endpoint["_id"])
    if event is not None:
        await deps.events.publish("delivery", delivery["_id"], [event])
    await _note_endpoint_health(deps, endpoint, attempt, gone=decision.outcome == retries.GONE)


async def _note_endpoint_health(deps: Deps, endpoint: dict[str, Any], attempt: Attempt, *, gone: bool) -> None:
    if attempt.ok:
        # Only a streak seen when the attempt began is ended: a write per success otherwise. A streak
        # another attempt starts meanwhile outlives this success, so it may look older than it is by
        # at most one attempt's duration (WEBHOOK_TIMEOUT_SECONDS), against days before a disable.
        if endpoint.get("failing_since") is not None:
            await deps.endpoints.note_success(endpoint)
        return
    if gone:
        await _disable(deps, endpoint, "endpoint_gone", "the endpoint answered 410 Gone")
        return
    current = await deps.endpoints.note_failure(endpoint["_id"], attempt.at, attempt.error)
    if current is None or not current["enabled"] or current["failing_since"] is None:
        return
    cutoff = utc_now() - timedelta(seconds=deps.disable_after)
    if current["failing_since"] <= cutoff:
        await _disable(deps, current, "failing", failing_reason(current["failing_since"], attempt.error),
                       failing_before=cutoff)


async def _disable(deps: Deps, endpoint: dict[str, Any], reason: str, message: str, **guard: Any) -> None:
    entry = deps.events.endpoint_disabled(endpoint, reason=reason, message=message)
    if await deps.endpoints.disable(endpoint["_id"], reason=reason, message=message, event=entry, **guard):
        await deps.events.publish("endpoint", endpoint["_id"], [entry])
        DISABLED.labels(reason).inc()
        log.warning("webhook.endpoint_disabled", endpoint_id=endpoint["_id"], reason=reason)
        await deps.bindings.tidy()


async def when_delivery_list_requested_list_them(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    data = envelope.data
    endpoint = await owned_endpoint(deps, data)
    docs, cursor = await deps.deliveries.list_for_endpoint(
        endpoint["_id"], status=data["status"], event_type=data["event_type"], since=data["since"],
        until=data["until"], limit=data["limit"], before=data["before"])
    return {"deliveries": [delivery_view(d) for d in docs], "next_cursor": cursor}


async def _delivery(deps: Deps, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    endpoint = await owned_endpoint(deps, data)
    delivery = await deps.deliveries.get_for_endpoint(endpoint["_id"], data["delivery_id"])
    if delivery is None:
        raise NotFound("no such delivery")
    return endpoint, delivery


async def when_delivery_requested_return_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    _, delivery = await _delivery(deps, envelope.data)
    return delivery_detail(delivery)


async def when_redelivery_requested_start_again(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    endpoint, delivery = await _delivery(deps, envelope.data)
    if not endpoint["enabled"]:
        raise Conflict("the endpoint is disabled: enable it first (or send a test event)",
                       {"disabled_reason": endpoint.get("disabled_reason")})
    restarted = await deps.deliveries.start_cycle(endpoint["_id"], delivery["_id"])
    if restarted is None:
        raise NotFound("no such delivery")
    await deps.jobs.now(restarted["_id"], cycle=restarted["cycle"], subject=endpoint["_id"])
    log.info("webhook.redelivery_queued", delivery_id=restarted["_id"], cycle=restarted["cycle"])
    return delivery_view(restarted)
