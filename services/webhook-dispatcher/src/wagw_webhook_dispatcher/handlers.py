"""What the dispatcher does with each message it consumes. Plain functions; app.py wires their deps."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from wagw_common.contracts import contract_for
from wagw_common.envelope import Envelope
from wagw_common.errors import DomainError, NotFound
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from .deliveries_store import PENDING, DeliveriesStore, delivery_view
from .endpoints_store import EndpointsStore, endpoint_view, new_endpoint_id
from .fanout import invalid_filters, matching_endpoints, webhook_payload
from .secrets import new_signing_secret
from .sender import succeeded
from .url_guard import refuse_private_destination

log = get_logger(__name__)

Enqueue = Callable[..., Awaitable[None]]
Post = Callable[..., Awaitable[dict[str, Any]]]


class DeliveryAttemptFailed(Exception):
    """The endpoint did not accept the delivery; raised so the broker tries the job again."""


async def when_endpoint_create_requested_register_it(envelope: Envelope, *, endpoints: EndpointsStore,
                                                     allow_private_networks: bool) -> dict[str, Any]:
    data = envelope.data
    refuse_private_destination(data["url"], allow_private_networks=allow_private_networks)
    unknown = invalid_filters(data["events"])
    if unknown:
        raise DomainError("the event filter names unknown event types",
                          {"events": [f"unknown event type: {name}" for name in unknown]})
    doc = {
        "_id": new_endpoint_id(), "tenant_id": data["tenant_id"], "url": data["url"],
        "events": list(dict.fromkeys(data["events"])), "session_id": data["session_id"],
        "description": data["description"], "secret": new_signing_secret(), "enabled": True,
        "created_at": utc_now(),
    }
    await endpoints.add(doc)
    log.info("webhook.endpoint_created", endpoint_id=doc["_id"], tenant_id=doc["tenant_id"], events=doc["events"])
    # The only time the secret leaves the service.
    return {**endpoint_view(doc), "secret": doc["secret"]}


async def when_endpoint_list_requested_list_them(envelope: Envelope, *, endpoints: EndpointsStore) -> dict[str, Any]:
    docs = await endpoints.list_for_tenant(envelope.data["tenant_id"])
    return {"endpoints": [endpoint_view(d) for d in docs]}


async def when_delivery_list_requested_list_them(envelope: Envelope, *, endpoints: EndpointsStore,
                                                 deliveries: DeliveriesStore) -> dict[str, Any]:
    endpoint = await endpoints.get_for_tenant(envelope.data["tenant_id"], envelope.data["endpoint_id"])
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    docs = await deliveries.list_for_endpoint(endpoint["_id"])
    return {"deliveries": [delivery_view(d) for d in docs]}


async def when_domain_event_occurred_queue_deliveries(envelope: Envelope, *, endpoints: EndpointsStore,
                                                      deliveries: DeliveriesStore, enqueue: Enqueue) -> None:
    tenant_id = envelope.data.get("tenant_id")
    if not tenant_id:
        return  # not a customer's event
    candidates = await endpoints.enabled_for_tenant(tenant_id)
    wanted = matching_endpoints(candidates, tenant_id=tenant_id, event_type=envelope.type,
                                session_id=envelope.data.get("session_id"))
    if not wanted:
        return
    data = contract_for(envelope.type).schema().dump(envelope.data)
    payload = webhook_payload(envelope.type, envelope.time, data)
    for endpoint in wanted:
        delivery = await deliveries.create_once(endpoint=endpoint, event_id=envelope.id, event_type=envelope.type,
                                                payload=payload)
        # A redelivered event re-queues deliveries still pending: their job may never have been published.
        if delivery["status"] == PENDING:
            await enqueue(delivery["_id"], subject=endpoint["_id"])
    log.info("webhook.deliveries_queued", tenant_id=tenant_id, endpoints=[e["_id"] for e in wanted])


async def when_delivery_job_received_attempt_it(envelope: Envelope, *, endpoints: EndpointsStore,
                                                deliveries: DeliveriesStore, post: Post, max_attempts: int) -> None:
    delivery_id = envelope.data["delivery_id"]
    delivery = await deliveries.get(delivery_id)
    if delivery is None:
        log.warning("webhook.delivery_missing", delivery_id=delivery_id)
        return
    if delivery["status"] != PENDING:
        log.info("webhook.delivery_already_settled", delivery_id=delivery_id, status=delivery["status"])
        return
    endpoint = await endpoints.get(delivery["endpoint_id"])
    if endpoint is None or not endpoint["enabled"]:
        await deliveries.mark_failed(delivery_id)
        log.info("webhook.delivery_dropped_endpoint_gone", delivery_id=delivery_id)
        return
    body = json.dumps(delivery["payload"], separators=(",", ":"))
    # webhook-id is the event's id: the same on every retry, so the receiver can drop duplicates.
    attempt = await post(url=endpoint["url"], secrets=[endpoint["secret"]], message_id=delivery["event_id"], body=body)
    ok = succeeded(attempt)
    await deliveries.record_attempt(delivery_id, attempt, succeeded=ok)
    log.info("webhook.delivery_attempted", delivery_id=delivery_id, endpoint_id=endpoint["_id"], ok=ok,
             status_code=attempt["status_code"], latency_ms=attempt["latency_ms"], error=attempt["error"])
    if ok:
        return
    if len(delivery["attempts"]) + 1 >= max_attempts:
        await deliveries.mark_failed(delivery_id)
        log.warning("webhook.delivery_failed", delivery_id=delivery_id, attempts=max_attempts)
        return
    raise DeliveryAttemptFailed(attempt["error"])
