"""Session lifecycle: the orchestrator's commands, queries and events."""

from __future__ import annotations

from marshmallow import fields, validate

from . import fields as f
from .base import Contract, Kind, StrictSchema

_SESSION_ID = "s_8f14e45fceea167a"
_TENANT_ID = "u_c9f0f895fb98ab91"
_TIME = "2026-01-01T12:00:00Z"


class TenantScoped(StrictSchema):
    tenant_id = f.object_id()


class SessionRef(TenantScoped):
    session_id = f.object_id()


class CreateSession(TenantScoped):
    name = f.text(100, required=True)
    description = fields.String(validate=validate.Length(max=500), load_default="")
    session_limit = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))


class SessionView(StrictSchema):
    session_id = f.object_id()
    tenant_id = f.object_id()
    name = f.text(100, required=True)
    description = fields.String(required=True)
    status = f.session_status()
    worker_id = fields.String(allow_none=True, required=True)
    qr = fields.String(allow_none=True, load_default=None)
    qr_expires_at = fields.AwareDateTime(allow_none=True, load_default=None)
    phone = fields.String(allow_none=True, load_default=None)
    # The sequence number of the session's latest event, so a client can tell what it has missed.
    sequence = fields.Integer(allow_none=True, load_default=None)
    created_at = f.timestamp()
    updated_at = f.timestamp()


class SessionList(StrictSchema):
    sessions = fields.List(fields.Nested(SessionView), required=True)


class SessionCreated(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    name = f.text(100, required=True)
    status = f.session_status()


class SessionStatusChanged(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    previous = f.session_status()
    status = f.session_status()
    worker_id = fields.String(allow_none=True, load_default=None)
    reason = fields.String(allow_none=True, load_default=None)
    sequence = fields.Integer(required=True, validate=validate.Range(min=1))


class SessionQrUpdated(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    qr = f.text(4096, required=True)
    expires_at = f.timestamp()
    sequence = fields.Integer(required=True, validate=validate.Range(min=1))


_VIEW_EXAMPLE = {
    "session_id": _SESSION_ID, "tenant_id": _TENANT_ID, "name": "Support line", "description": "",
    "status": "DISCONNECTED", "worker_id": None, "qr": None, "qr_expires_at": None, "phone": None,
    "created_at": _TIME, "updated_at": _TIME,
}

CONTRACTS = [
    Contract("session.create", Kind.QUERY, CreateSession, "Create a session record (phase 1), within the tenant's limit",
             {"tenant_id": _TENANT_ID, "name": "Support line", "description": "", "session_limit": 1},
             reply=SessionView, reply_example=_VIEW_EXAMPLE, tags=("sessions",)),
    Contract("session.connect", Kind.QUERY, SessionRef, "Assign a worker and start the session there (phase 2)",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID},
             reply=SessionView, reply_example={**_VIEW_EXAMPLE, "status": "CONNECTING", "worker_id": "worker-1"},
             tags=("sessions",)),
    Contract("session.get", Kind.QUERY, SessionRef, "One session of the tenant, with its pending QR if any",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID},
             reply=SessionView, reply_example=_VIEW_EXAMPLE, tags=("sessions",)),
    Contract("session.list", Kind.QUERY, TenantScoped, "Every session of the tenant",
             {"tenant_id": _TENANT_ID}, reply=SessionList, reply_example={"sessions": [_VIEW_EXAMPLE]},
             tags=("sessions",)),
    Contract("session.created", Kind.EVENT, SessionCreated, "A session record was created",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "name": "Support line", "status": "DISCONNECTED"},
             tags=("sessions",)),
    Contract("session.status_changed", Kind.EVENT, SessionStatusChanged, "A session moved from one state to another",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "previous": "QR_REQUIRED", "status": "CONNECTED",
              "worker_id": "worker-1", "reason": None, "sequence": 3}, tags=("sessions",)),
    Contract("session.qr_updated", Kind.EVENT, SessionQrUpdated, "A new QR code is waiting to be scanned",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "qr": "2@AbCdEf==,xyz==,abc==,1",
              "expires_at": "2026-01-01T12:01:00Z", "sequence": 2}, tags=("sessions",)),
]
