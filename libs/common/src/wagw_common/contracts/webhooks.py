"""Webhooks: the dispatcher's queries, its internal delivery job, its events, and the catalog of
domain events a customer can subscribe to (deliveries carry those events themselves)."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from ..json_schema import json_schema_of
from . import fields as f
from .base import Contract, Kind, SchemaClass, StrictSchema
from .sessions import TenantScoped

_TENANT_ID = "u_c9f0f895fb98ab91"
_ENDPOINT_ID = "wh_1679091c5a880faf"
_DELIVERY_ID = "dl_9bf31c7ff062936a21c0a9d4"
_EVENT_ID = "3c59dc048e8850243be8079a5c74d079"
_TIME = "2026-01-01T12:00:00Z"

# The domain-event families a customer can subscribe to; the dispatcher's queue binds exactly these.
SUBSCRIBABLE_FAMILIES = ("session", "message")
# Sent by "send a test event"; never published on the broker, so it is not a contract.
TEST_EVENT = "webhook.test"
DELIVERY_STATUSES = ("pending", "succeeded", "failed")
FAILURE_REASONS = ("exhausted", "endpoint_gone", "endpoint_disabled", "endpoint_deleted")
DISABLE_REASONS = ("customer", "endpoint_gone", "failing")
MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3600

# Custom headers: names we sign or that HTTP itself manages cannot be overridden by a customer.
MAX_HEADERS = 20
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
RESERVED_HEADERS = frozenset({
    "host", "content-type", "content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive",
    "upgrade", "te", "trailer", "expect", "proxy-authorization", "proxy-connection", "user-agent", "cookie",
})


def _check_headers(headers: dict[str, str]) -> None:
    """Custom headers within the limit: names of letters, digits and hyphens, one-line values, none that
    the dispatcher sets itself, no name twice."""
    if len(headers) > MAX_HEADERS:
        raise ValidationError(f"at most {MAX_HEADERS} custom headers")
    problems: list[str] = []
    seen: set[str] = set()
    for name, value in headers.items():
        lowered = name.lower()
        if not _HEADER_NAME.match(name):
            problems.append(f"{name}: a header name is letters, digits and hyphens (up to 64)")
        elif lowered in RESERVED_HEADERS or lowered.startswith("webhook-"):
            problems.append(f"{name}: set by the dispatcher, it cannot be overridden")
        elif lowered in seen:
            problems.append(f"{name}: given twice (header names are case-insensitive)")
        elif not isinstance(value, str) or len(value) > 1000 or any(c in value for c in "\r\n\0"):
            problems.append(f"{name}: a header value is text up to 1000 characters, on one line")
        seen.add(lowered)
    if problems:
        raise ValidationError(problems)


def _url(**kwargs: Any) -> fields.Url:
    return fields.Url(require_tld=False, schemes={"http", "https"}, validate=validate.Length(max=2048), **kwargs)


def _event_filter(**kwargs: Any) -> fields.List[str]:
    return fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(min=1, max=50),
                       **kwargs)


def _headers(**kwargs: Any) -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.String(), validate=_check_headers, **kwargs)


def _session_filter(**kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"), **kwargs)


class CreateEndpoint(TenantScoped):
    url = _url(required=True)
    events = _event_filter(load_default=lambda: ["*"])
    session_id = _session_filter(load_default=None)
    description = fields.String(load_default="", validate=validate.Length(max=500))
    headers = _headers(load_default=dict)


class EndpointRef(TenantScoped):
    endpoint_id = f.object_id()


class UpdateEndpoint(EndpointRef):
    """Only the fields given change; `session_id: null` lifts a session restriction."""

    url = _url()
    events = _event_filter()
    session_id = _session_filter()
    description = fields.String(validate=validate.Length(max=500))
    headers = _headers()

    @validates_schema
    def _something_to_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not set(data) - {"tenant_id", "endpoint_id"}:
            raise ValidationError("give at least one of url, events, session_id, description, headers")


class RotateSecret(EndpointRef):
    # How long the old secret keeps signing next to the new one (the dispatcher's default when absent).
    overlap_seconds = fields.Integer(load_default=None, allow_none=True,
                                     validate=validate.Range(min=0, max=MAX_ROTATION_OVERLAP_SECONDS))


class SendTestEvent(EndpointRef):
    # `webhook.test` (the default), or a subscribable event type whose example is sent.
    event_type = fields.String(load_default=TEST_EVENT, validate=validate.Length(min=1, max=64))


class EndpointView(StrictSchema):
    endpoint_id = f.object_id()
    tenant_id = f.object_id()
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    session_id = fields.String(allow_none=True, required=True)
    description = fields.String(required=True)
    headers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(DISABLE_REASONS))
    disabled_message = fields.String(allow_none=True, load_default=None)
    disabled_at = fields.AwareDateTime(allow_none=True, load_default=None)
    failing_since = fields.AwareDateTime(allow_none=True, load_default=None)  # failing without a success since then
    previous_secret_expires_at = fields.AwareDateTime(allow_none=True, load_default=None)  # rotation overlap ends
    created_at = f.timestamp()
    updated_at = fields.AwareDateTime(allow_none=True, load_default=None)


class CreatedEndpoint(EndpointView):
    secret = fields.String(required=True)


class EndpointList(StrictSchema):
    endpoints = fields.List(fields.Nested(EndpointView), required=True)


class EndpointDeleted(StrictSchema):
    endpoint_id = f.object_id()
    deleted = fields.Boolean(required=True)


class AttemptView(StrictSchema):
    at = f.timestamp()
    status_code = fields.Integer(allow_none=True, required=True)
    latency_ms = fields.Float(required=True)
    error = fields.String(allow_none=True, required=True)
    response_body = fields.String(allow_none=True, load_default=None)  # the first KiB of the endpoint's answer
    cycle = fields.Integer(allow_none=True, load_default=None)  # 1, then +1 per redelivery by hand
    attempt = fields.Integer(allow_none=True, load_default=None)  # within its cycle, from 1


class DeliveryView(StrictSchema):
    delivery_id = f.object_id()
    endpoint_id = f.object_id()
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    failure_reason = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(FAILURE_REASONS))
    attempt_count = fields.Integer(required=True)
    last_attempt = fields.Nested(AttemptView, allow_none=True, load_default=None)
    next_attempt_at = fields.AwareDateTime(allow_none=True, load_default=None)
    test = fields.Boolean(load_default=False)
    created_at = f.timestamp()
    updated_at = fields.AwareDateTime(allow_none=True, load_default=None)


class DeliveryDetail(DeliveryView):
    attempts = fields.List(fields.Nested(AttemptView), required=True)
    payload = fields.Dict(required=True)  # the exact body every attempt sent


class ListDeliveries(EndpointRef):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(DELIVERY_STATUSES))
    event_type = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    since = fields.AwareDateTime(load_default=None, allow_none=True)  # created at or after
    until = fields.AwareDateTime(load_default=None, allow_none=True)  # created before
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    before = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))  # next_cursor


class DeliveryList(StrictSchema):
    deliveries = fields.List(fields.Nested(DeliveryView), required=True)
    next_cursor = fields.String(allow_none=True, load_default=None)


class DeliveryRef(EndpointRef):
    delivery_id = f.object_id()


class DeliveryAttempt(StrictSchema):
    delivery_id = f.object_id()
    cycle = fields.Integer(load_default=1, validate=validate.Range(min=1))
    attempt = fields.Integer(load_default=1, validate=validate.Range(min=1))
    deferrals = fields.Integer(load_default=0, validate=validate.Range(min=0))  # times put off: endpoint busy
    # The claim the delivery was created with, handed to its first job (and that job's put-off successors).
    ticket = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))


class EndpointDisabled(StrictSchema):
    tenant_id = f.object_id()
    endpoint_id = f.object_id()
    reason = fields.String(required=True, validate=validate.OneOf(DISABLE_REASONS))
    message = fields.String(required=True)
    failing_since = fields.AwareDateTime(allow_none=True, load_default=None)
    at = f.timestamp()


class EndpointEnabled(StrictSchema):
    tenant_id = f.object_id()
    endpoint_id = f.object_id()
    at = f.timestamp()


class DeliveryExhausted(StrictSchema):
    tenant_id = f.object_id()
    endpoint_id = f.object_id()
    delivery_id = f.object_id()
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    attempts = fields.Integer(required=True)
    last_status_code = fields.Integer(allow_none=True, load_default=None)
    last_error = fields.String(allow_none=True, load_default=None)
    at = f.timestamp()


class EventTypeView(StrictSchema):
    """One entry of the event catalog (`GET /api/v1/webhooks/event-types`)."""

    type = fields.String(required=True)
    family = fields.String(required=True)
    summary = fields.String(required=True)
    schema = fields.Dict(required=True)  # JSON Schema of `data`
    example = fields.Dict(required=True)  # a whole webhook body


_ENDPOINT = {"endpoint_id": _ENDPOINT_ID, "tenant_id": _TENANT_ID, "url": "https://example.com/hooks",
             "events": ["message.sent"], "session_id": None, "description": "", "headers": {"x-team": "support"},
             "enabled": True, "disabled_reason": None, "disabled_message": None, "disabled_at": None,
             "failing_since": None, "previous_secret_expires_at": None, "created_at": _TIME, "updated_at": _TIME}
_ATTEMPT = {"at": _TIME, "status_code": 200, "latency_ms": 42.0, "error": None, "response_body": "ok", "cycle": 1,
            "attempt": 1}
_DELIVERY = {"delivery_id": _DELIVERY_ID, "endpoint_id": _ENDPOINT_ID, "event_id": _EVENT_ID,
             "event_type": "message.sent", "status": "succeeded", "failure_reason": None, "attempt_count": 1,
             "last_attempt": _ATTEMPT, "next_attempt_at": None, "test": False, "created_at": _TIME, "updated_at": _TIME}
_REF = {"tenant_id": _TENANT_ID, "endpoint_id": _ENDPOINT_ID}
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _query(type_: str, schema: SchemaClass, summary: str, example: dict[str, Any], reply: SchemaClass,
           reply_example: dict[str, Any]) -> Contract:
    return Contract(type_, Kind.QUERY, schema, summary, example, reply=reply, reply_example=reply_example,
                    tags=("webhooks",))


CONTRACTS = [
    _query("webhook.endpoint.create", CreateEndpoint, "Register an endpoint; the reply holds its secret once",
           {"tenant_id": _TENANT_ID, "url": "https://example.com/hooks", "events": ["message.sent"],
            "session_id": None, "description": "", "headers": {"x-team": "support"}},
           CreatedEndpoint, {**_ENDPOINT, "secret": _SECRET}),
    _query("webhook.endpoint.list", TenantScoped, "The tenant's endpoints", {"tenant_id": _TENANT_ID},
           EndpointList, {"endpoints": [_ENDPOINT]}),
    _query("webhook.endpoint.get", EndpointRef, "One endpoint of the tenant", _REF, EndpointView, _ENDPOINT),
    _query("webhook.endpoint.update", UpdateEndpoint,
           "Change an endpoint's URL, filter, session, description or headers",
           {**_REF, "events": ["message.*"]}, EndpointView, {**_ENDPOINT, "events": ["message.*"]}),
    _query("webhook.endpoint.delete", EndpointRef, "Delete an endpoint; its pending deliveries are dropped", _REF,
           EndpointDeleted, {"endpoint_id": _ENDPOINT_ID, "deleted": True}),
    _query("webhook.endpoint.enable", EndpointRef, "Enable an endpoint and forget its failure streak", _REF,
           EndpointView, _ENDPOINT),
    _query("webhook.endpoint.disable", EndpointRef, "Disable an endpoint: nothing more is delivered to it", _REF,
           EndpointView, {**_ENDPOINT, "enabled": False, "disabled_reason": "customer",
                          "disabled_message": "disabled by its owner", "disabled_at": _TIME}),
    _query("webhook.endpoint.rotate_secret", RotateSecret,
           "A new signing secret; the old one keeps signing too until the overlap ends",
           {**_REF, "overlap_seconds": 86400}, CreatedEndpoint,
           {**_ENDPOINT, "previous_secret_expires_at": "2026-01-02T12:00:00Z", "secret": _SECRET}),
    _query("webhook.endpoint.test", SendTestEvent, "Send a test event to the endpoint (logged as a delivery)",
           {**_REF, "event_type": TEST_EVENT}, DeliveryView,
           {**_DELIVERY, "event_type": TEST_EVENT, "status": "pending", "attempt_count": 0, "last_attempt": None,
            "test": True}),
    _query("webhook.delivery.list", ListDeliveries, "An endpoint's deliveries, newest first, with filters",
           {**_REF, "status": "failed", "event_type": None, "since": None, "until": None, "limit": 50, "before": None},
           DeliveryList, {"deliveries": [_DELIVERY], "next_cursor": None}),
    _query("webhook.delivery.get", DeliveryRef, "One delivery with every attempt and the body it sends",
           {**_REF, "delivery_id": _DELIVERY_ID}, DeliveryDetail,
           {**_DELIVERY, "attempts": [_ATTEMPT], "payload": {"type": "message.sent", "timestamp": _TIME, "data": {}}}),
    _query("webhook.delivery.redeliver", DeliveryRef, "Deliver again by hand: a new cycle of attempts, same webhook-id",
           {**_REF, "delivery_id": _DELIVERY_ID}, DeliveryView, {**_DELIVERY, "status": "pending"}),
    Contract("webhook.delivery.attempt", Kind.COMMAND, DeliveryAttempt,
             "Internal to the dispatcher: make attempt `attempt` of cycle `cycle` of one delivery",
             {"delivery_id": _DELIVERY_ID, "cycle": 1, "attempt": 1, "deferrals": 0}, tags=("webhooks",)),
    Contract("webhook.endpoint_disabled", Kind.EVENT, EndpointDisabled,
             "An endpoint was disabled: by its owner, because it answered 410 Gone, or because it kept failing",
             {"tenant_id": _TENANT_ID, "endpoint_id": _ENDPOINT_ID, "reason": "failing",
              "message": "failing continuously since 2025-12-27T12:00:00Z (last error: HTTP 503)",
              "failing_since": "2025-12-27T12:00:00Z", "at": _TIME}, tags=("webhooks",)),
    Contract("webhook.endpoint_enabled", Kind.EVENT, EndpointEnabled, "An endpoint was enabled (again)",
             {"tenant_id": _TENANT_ID, "endpoint_id": _ENDPOINT_ID, "at": _TIME}, tags=("webhooks",)),
    Contract("webhook.delivery_exhausted", Kind.EVENT, DeliveryExhausted,
             "A delivery failed its last scheduled attempt and was given up",
             {"tenant_id": _TENANT_ID, "endpoint_id": _ENDPOINT_ID, "delivery_id": _DELIVERY_ID, "event_id": _EVENT_ID,
              "event_type": "message.sent", "attempts": 10, "last_status_code": 503, "last_error": "HTTP 503",
              "at": _TIME}, tags=("webhooks",)),
]


# --- the event catalog: what a customer can subscribe to -------------------------------------------

def subscribable_events() -> list[Contract]:
    """Every domain event of the subscribable families, by type."""
    from . import CATALOG  # filled once every contract module is imported

    return sorted((c for c in CATALOG.values()
                   if c.kind is Kind.EVENT and c.type.split(".", 1)[0] in SUBSCRIBABLE_FAMILIES),
                  key=lambda c: c.type)


def webhook_body(event_type: str, timestamp: str, data: dict[str, Any]) -> dict[str, Any]:
    """The body every delivery sends (the shape Standard Webhooks recommends)."""
    return {"type": event_type, "timestamp": timestamp, "data": data}


def event_catalog() -> list[dict[str, Any]]:
    """The catalog `GET /api/v1/webhooks/event-types` lists and docs/webhooks.md documents."""
    return [{"type": c.type, "family": c.type.split(".", 1)[0], "summary": c.summary,
             "schema": json_schema_of(c.schema), "example": webhook_body(c.type, _TIME, c.example)}
            for c in subscribable_events()]
