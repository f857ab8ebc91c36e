"""Webhook endpoints: the dispatcher's queries. Deliveries carry the domain events themselves."""

from __future__ import annotations

from marshmallow import fields, validate

from . import fields as f
from .base import Contract, Kind, StrictSchema
from .sessions import TenantScoped

_TENANT_ID = "u_c9f0f895fb98ab91"
_ENDPOINT_ID = "wh_1679091c5a880faf"
_TIME = "2026-01-01T12:00:00Z"


class CreateEndpoint(TenantScoped):
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"}, validate=validate.Length(max=2048))
    events = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=lambda: ["*"],
                         validate=validate.Length(min=1, max=50))
    session_id = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"))
    description = fields.String(load_default="", validate=validate.Length(max=500))


class EndpointView(StrictSchema):
    endpoint_id = f.object_id()
    tenant_id = f.object_id()
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    session_id = fields.String(allow_none=True, required=True)
    description = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    created_at = f.timestamp()


class CreatedEndpoint(EndpointView):
    secret = fields.String(required=True)


class EndpointList(StrictSchema):
    endpoints = fields.List(fields.Nested(EndpointView), required=True)


class EndpointRef(TenantScoped):
    endpoint_id = f.object_id()


class AttemptView(StrictSchema):
    at = f.timestamp()
    status_code = fields.Integer(allow_none=True, required=True)
    latency_ms = fields.Float(required=True)
    error = fields.String(allow_none=True, required=True)
    response_body = fields.String(allow_none=True, load_default=None)  # the first KiB of the endpoint's answer


class DeliveryView(StrictSchema):
    delivery_id = f.object_id()
    endpoint_id = f.object_id()
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("pending", "succeeded", "failed")))
    attempts = fields.List(fields.Nested(AttemptView), required=True)
    created_at = f.timestamp()
    updated_at = fields.AwareDateTime(allow_none=True, load_default=None)


class DeliveryList(StrictSchema):
    deliveries = fields.List(fields.Nested(DeliveryView), required=True)


class DeliveryAttempt(StrictSchema):
    delivery_id = f.object_id()


_ENDPOINT = {"endpoint_id": _ENDPOINT_ID, "tenant_id": _TENANT_ID, "url": "https://example.com/hooks",
             "events": ["message.sent"], "session_id": None, "description": "", "enabled": True, "created_at": _TIME}

CONTRACTS = [
    Contract("webhook.endpoint.create", Kind.QUERY, CreateEndpoint, "Register an endpoint; the reply holds its secret once",
             {"tenant_id": _TENANT_ID, "url": "https://example.com/hooks", "events": ["message.sent"],
              "session_id": None, "description": ""},
             reply=CreatedEndpoint, reply_example={**_ENDPOINT, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
             tags=("webhooks",)),
    Contract("webhook.endpoint.list", Kind.QUERY, TenantScoped, "The tenant's endpoints", {"tenant_id": _TENANT_ID},
             reply=EndpointList, reply_example={"endpoints": [_ENDPOINT]}, tags=("webhooks",)),
    Contract("webhook.delivery.list", Kind.QUERY, EndpointRef, "An endpoint's deliveries with their attempts",
             {"tenant_id": _TENANT_ID, "endpoint_id": _ENDPOINT_ID},
             reply=DeliveryList, reply_example={"deliveries": []}, tags=("webhooks",)),
    Contract("webhook.delivery.attempt", Kind.COMMAND, DeliveryAttempt,
             "Internal to the dispatcher: attempt (or retry) one delivery", {"delivery_id": "dl_9bf31c7ff062936a"},
             tags=("webhooks",)),
]
