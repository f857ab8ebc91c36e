"""Session lifecycle: the orchestrator's commands, queries and events."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import phonenumbers
from marshmallow import ValidationError, fields, validate

from . import fields as f
from .base import Contract, Kind, StrictSchema
from .pacing import PACING_VIEW_EXAMPLE, POLICY_EXAMPLE, POLICY_SET_EXAMPLE, PacingPolicy, PacingSet, PacingView

_SESSION_ID = "s_8f14e45fceea167a"
_TENANT_ID = "u_c9f0f895fb98ab91"
_TIME = "2026-01-01T12:00:00Z"
_SEPARATORS = re.compile(r"[\s().-]")


# A recipient is checked where it enters (the gateway), again when each message carrying it is published
# and consumed, and the same numbers come back: the check costs more than the rest of a message's
# contract. Only valid numbers are kept (a refusal raises, and is not cached).
@lru_cache(maxsize=4096)
def normalise_phone(value: str) -> str:
    """An international phone number as typed (`+62 812-3456-789`, `628123456789`) -> its digits in
    E.164 (`628123456789`); ValidationError with the reason when it is not a valid number."""
    digits = _SEPARATORS.sub("", value.strip())
    if not re.fullmatch(r"\+?[0-9]{6,15}", digits):
        raise ValidationError("must be an international phone number (country code first, digits, optional +)")
    return _e164(digits.removeprefix("+"))


# Messages go to the same numbers again and again, and parsing one with its country's metadata costs
# more than the rest of a send's validation; a refused number raises, so only valid ones are kept.
@functools.lru_cache(maxsize=16_384)
def _e164(digits: str) -> str:
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        raise ValidationError("not a phone number: the country code is unknown") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("not a valid phone number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).removeprefix("+")


class PhoneNumber(fields.String):
    """An international phone number as typed, loaded as its E.164 digits."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> str:
        return normalise_phone(super()._deserialize(value, attr, data, **kwargs))


class TenantScoped(StrictSchema):
    tenant_id = f.object_id()


class SessionRef(TenantScoped):
    session_id = f.object_id()


class CreateSession(TenantScoped):
    name = f.text(100, required=True)
    description = fields.String(validate=validate.Length(max=500), load_default="")
    session_limit = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))


class UpdateSession(SessionRef):
    """Rename, describe and/or set the send pacing (`null` removes it): at least one of the three."""

    name = f.text(100)
    description = fields.String(validate=validate.Length(max=500))
    pacing = fields.Nested(PacingPolicy, allow_none=True)


class PairSession(SessionRef):
    """Connect with a pairing code: the phone number (international format) the code is for."""

    phone = PhoneNumber(required=True)


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
    # Set after a pairing-code connect, until the phone confirms it.
    pairing_code = fields.String(allow_none=True, load_default=None)
    pairing_code_expires_at = fields.AwareDateTime(allow_none=True, load_default=None)
    # The send pacing policy and what it is doing today; null: sends are not paced.
    pacing = fields.Nested(PacingView, allow_none=True, load_default=None)
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


class SessionUpdated(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    name = f.text(100, required=True)
    description = fields.String(required=True)
    sequence = fields.Integer(required=True, validate=validate.Range(min=1))


class SessionPacingChanged(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    # The policy now in force; null: pacing was removed.
    pacing = fields.Nested(PacingSet, allow_none=True, required=True)
    sequence = fields.Integer(required=True, validate=validate.Range(min=1))


class SessionDeleted(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    sequence = fields.Integer(required=True, validate=validate.Range(min=1))


class SessionPairingCode(StrictSchema):
    tenant_id = f.object_id()
    session_id = f.object_id()
    code = f.text(16, required=True)
    expires_at = f.timestamp()
    sequence = fields.Integer(required=True, validate=validate.Range(min=1))


_VIEW_EXAMPLE = {
    "session_id": _SESSION_ID, "tenant_id": _TENANT_ID, "name": "Support line", "description": "",
    "status": "DISCONNECTED", "worker_id": None, "qr": None, "qr_expires_at": None, "phone": None,
    "created_at": _TIME, "updated_at": _TIME,
}

CONTRACTS = [
    Contract("session.create", Kind.QUERY, CreateSession,
             "Create a session record (phase 1), within the tenant's limit",
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
    Contract("session.update", Kind.QUERY, UpdateSession, "Rename, describe and/or pace a session's sends",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "name": "Sales line", "description": "Team B",
              "pacing": POLICY_EXAMPLE},
             reply=SessionView, reply_example={**_VIEW_EXAMPLE, "name": "Sales line", "description": "Team B",
                                               "pacing": PACING_VIEW_EXAMPLE},
             tags=("sessions",)),
    Contract("session.pair", Kind.QUERY, PairSession,
             "Phase 2 with a pairing code: assign a worker, which answers with a code for the phone number",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "phone": "+628123456789"},
             reply=SessionView, reply_example={**_VIEW_EXAMPLE, "status": "CONNECTING", "worker_id": "worker-1"},
             tags=("sessions",)),
    Contract("session.disconnect", Kind.QUERY, SessionRef,
             "Stop a session on its worker; the phone stays linked, so a later restart restores it",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID}, reply=SessionView, reply_example=_VIEW_EXAMPLE,
             tags=("sessions",)),
    Contract("session.logout", Kind.QUERY, SessionRef, "Stop a session and unlink the phone (LOGGED_OUT)",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID}, reply=SessionView,
             reply_example={**_VIEW_EXAMPLE, "status": "LOGGED_OUT"}, tags=("sessions",)),
    Contract("session.restart", Kind.QUERY, SessionRef,
             "Stop a session and start it again on a worker from its stored credentials (RECONNECTING)",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID}, reply=SessionView,
             reply_example={**_VIEW_EXAMPLE, "status": "RECONNECTING", "worker_id": "worker-1"}, tags=("sessions",)),
    Contract("session.delete", Kind.QUERY, SessionRef,
             "Stop a session, unlink the phone and remove it with its history (see the cleanup policy)",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID}, reply=SessionView,
             reply_example={**_VIEW_EXAMPLE, "status": "DELETED"}, tags=("sessions",)),
    Contract("session.created", Kind.EVENT, SessionCreated, "A session record was created",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "name": "Support line", "status": "DISCONNECTED"},
             tags=("sessions",)),
    Contract("session.status_changed", Kind.EVENT, SessionStatusChanged, "A session moved from one state to another",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "previous": "QR_REQUIRED", "status": "CONNECTED",
              "worker_id": "worker-1", "reason": None, "sequence": 3}, tags=("sessions",)),
    Contract("session.qr_updated", Kind.EVENT, SessionQrUpdated, "A new QR code is waiting to be scanned",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "qr": "2@AbCdEf==,xyz==,abc==,1",
              "expires_at": "2026-01-01T12:01:00Z", "sequence": 2}, tags=("sessions",)),
    Contract("session.updated", Kind.EVENT, SessionUpdated, "A session was renamed or described",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "name": "Sales line", "description": "Team B",
              "sequence": 4}, tags=("sessions",)),
    Contract("session.pacing_changed", Kind.EVENT, SessionPacingChanged,
             "A session's send pacing was set, changed or removed (`pacing` null)",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "pacing": POLICY_SET_EXAMPLE, "sequence": 5},
             tags=("sessions",)),
    Contract("session.deleted", Kind.EVENT, SessionDeleted,
             "A session was deleted: its API keys are to be revoked and its history is gone",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "sequence": 7}, tags=("sessions",)),
    Contract("session.pairing_code", Kind.EVENT, SessionPairingCode,
             "A pairing code to enter on the phone (Linked devices > Link with phone number)",
             {"tenant_id": _TENANT_ID, "session_id": _SESSION_ID, "code": "ABCD-EFGH",
              "expires_at": "2026-01-01T12:01:00Z", "sequence": 2}, tags=("sessions",)),
]
