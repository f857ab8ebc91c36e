"""Endpoint queries: register, read, change, delete, enable/disable, rotate the secret, test.
Plain functions of an envelope and the dependencies; router.py binds them to the commands queue."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from wagw_common.contracts import contract_for
from wagw_common.contracts.webhooks import TEST_EVENT, webhook_body
from wagw_common.envelope import Envelope
from wagw_common.errors import Conflict, DomainError, NotFound
from wagw_common.logging import get_logger
from wagw_common.storage import utc_now

from .deliveries_store import delivery_view
from .deps import Deps
from .endpoints_store import endpoint_view, new_endpoint
from .fanout import DELIVERABLE_EVENTS, invalid_filters
from .metrics import DISABLED
from .secrets import new_signing_secret

log = get_logger(__name__)
EDITABLE = ("url", "events", "session_id", "description", "headers")


async def _check_url(deps: Deps, url: str) -> None:
    reason = await deps.screen(url)
    if reason is not None:
        raise DomainError("the webhook URL must point to a public address", {"url": [reason]})


def _check_filter(events: list[str]) -> list[str]:
    unknown = invalid_filters(events)
    if unknown:
        raise DomainError("the event filter names unknown event types",
                          {"events": [f"unknown event type: {name}" for name in unknown]})
    return list(dict.fromkeys(events))


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


async def owned_endpoint(deps: Deps, data: dict[str, Any]) -> dict[str, Any]:
    doc = await deps.endpoints.get_for_tenant(data["tenant_id"], data["endpoint_id"])
    if doc is None:
        raise NotFound("no such webhook endpoint")
    return doc


async def when_endpoint_create_requested_register_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    data = envelope.data
    events = _check_filter(data["events"])
    await _check_url(deps, data["url"])
    doc = new_endpoint(tenant_id=data["tenant_id"], url=data["url"], events=events, session_id=data["session_id"],
                       description=data["description"], headers=_headers(data["headers"]), secret=new_signing_secret())
    async with deps.bindings.wanting(events):
        await deps.endpoints.add(doc)
    log.info("webhook.endpoint_created", endpoint_id=doc["_id"], tenant_id=doc["tenant_id"], events=doc["events"])
    # With a rotation, the only times a secret leaves the service.
    return {**endpoint_view(doc), "secret": doc["secret"]}


async def when_endpoint_list_requested_list_them(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    docs = await deps.endpoints.list_for_tenant(envelope.data["tenant_id"])
    return {"endpoints": [endpoint_view(d) for d in docs]}


async def when_endpoint_requested_return_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    return endpoint_view(await owned_endpoint(deps, envelope.data))


async def when_endpoint_update_requested_change_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    data = envelope.data
    await owned_endpoint(deps, data)
    changes = {k: data[k] for k in EDITABLE if k in data}
    if "events" in changes:
        changes["events"] = _check_filter(changes["events"])
    if "headers" in changes:
        changes["headers"] = _headers(changes["headers"])
    if "url" in changes:
        await _check_url(deps, changes["url"])
    async with deps.bindings.wanting(changes.get("events", ())):
        doc = await deps.endpoints.update(data["tenant_id"], data["endpoint_id"], changes)
    if doc is None:
        raise NotFound("no such webhook endpoint")
    if "events" in changes:
        await deps.bindings.tidy()  # what the former filter alone wanted
    log.info("webhook.endpoint_updated", endpoint_id=doc["_id"], changed=sorted(changes))
    return endpoint_view(doc)


async def when_endpoint_delete_requested_delete_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    data = envelope.data
    if not await deps.endpoints.delete(data["tenant_id"], data["endpoint_id"]):
        raise NotFound("no such webhook endpoint")
    # Pending jobs of its deliveries find nothing and stop.
    removed = await deps.deliveries.delete_for_endpoint(data["endpoint_id"])
    await deps.bindings.tidy()
    log.info("webhook.endpoint_deleted", endpoint_id=data["endpoint_id"], deliveries_removed=removed)
    return {"endpoint_id": data["endpoint_id"], "deleted": True}


async def when_endpoint_enable_requested_enable_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    doc = await owned_endpoint(deps, envelope.data)
    if doc["enabled"]:
        return endpoint_view(doc)
    entry = deps.events.endpoint_enabled(doc)
    async with deps.bindings.wanting(doc["events"]):
        enabled = await deps.endpoints.enable(doc["tenant_id"], doc["_id"], entry)
    if enabled is None:  # enabled concurrently
        return endpoint_view(await owned_endpoint(deps, envelope.data))
    await deps.events.publish("endpoint", doc["_id"], [entry])
    log.info("webhook.endpoint_enabled", endpoint_id=doc["_id"])
    return endpoint_view(enabled)


async def when_endpoint_disable_requested_disable_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    doc = await owned_endpoint(deps, envelope.data)
    if not doc["enabled"]:
        return endpoint_view(doc)
    message = "disabled by its owner"
    entry = deps.events.endpoint_disabled(doc, reason="customer", message=message)
    disabled = await deps.endpoints.disable(doc["_id"], tenant_id=doc["tenant_id"], reason="customer",
                                            message=message, event=entry)
    if disabled is None:  # disabled concurrently
        return endpoint_view(await owned_endpoint(deps, envelope.data))
    await deps.events.publish("endpoint", doc["_id"], [entry])
    DISABLED.labels("customer").inc()
    log.info("webhook.endpoint_disabled", endpoint_id=doc["_id"], reason="customer")
    await deps.bindings.tidy()
    return endpoint_view(disabled)


async def when_secret_rotation_requested_rotate_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    data = envelope.data
    doc = await owned_endpoint(deps, data)
    overlap = deps.secret_overlap if data["overlap_seconds"] is None else data["overlap_seconds"]
    secret = new_signing_secret()
    rotated = await deps.endpoints.rotate_secret(doc, secret, utc_now() + timedelta(seconds=overlap))
    if rotated is None:
        raise Conflict("the secret was rotated at the same moment by another request; try again")
    log.info("webhook.secret_rotated", endpoint_id=doc["_id"], overlap_seconds=overlap)
    return {**endpoint_view(rotated), "secret": secret}


def _test_data(event_type: str, endpoint: dict[str, Any]) -> dict[str, Any]:
    if event_type == TEST_EVENT:
        return {"tenant_id": endpoint["tenant_id"], "endpoint_id": endpoint["_id"],
                "message": "A test event sent on request: if you can read this, your endpoint works."}
    example = dict(contract_for(event_type).example)
    example["tenant_id"] = endpoint["tenant_id"]
    if endpoint.get("session_id") and "session_id" in example:
        example["session_id"] = endpoint["session_id"]
    return example


async def when_test_event_requested_send_it(envelope: Envelope, deps: Deps) -> dict[str, Any]:
    """A delivery like any other (signed, retried, logged), marked `test`; sent even to a disabled
    endpoint, so a customer can check a fix before enabling it again."""
    data = envelope.data
    event_type = data["event_type"]
    if event_type != TEST_EVENT and event_type not in DELIVERABLE_EVENTS:
        raise DomainError("not an event type an endpoint can receive",
                          {"event_type": [f"{TEST_EVENT} or one of the event catalog's types"]})
    endpoint = await owned_endpoint(deps, data)
    at = utc_now().isoformat().replace("+00:00", "Z")
    payload = webhook_body(event_type, at, _test_data(event_type, endpoint))
    delivery = await deps.deliveries.create_once(endpoint=endpoint, event_id="test_" + uuid.uuid4().hex,
                                                 event_type=event_type, payload=payload, test=True)
    await deps.jobs.now(delivery["_id"], subject=endpoint["_id"])
    log.info("webhook.test_event_queued", endpoint_id=endpoint["_id"], delivery_id=delivery["_id"])
    return delivery_view(delivery)
