"""The one envelope every broker message travels in: CloudEvents 1.0 attributes in structured JSON
mode, plus a correlation id extension, with `data` validated by the message type's contract."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .fast_runtime import dumps, loads
from .logging import current_correlation_id, new_correlation_id

CONTENT_TYPE = "application/cloudevents+json"
SPEC_VERSION = "1.0"


class MalformedMessage(ValueError):
    """The message can never be handled: not JSON, not an envelope, or data breaking its contract."""

    def __init__(self, reason: str, details: Any = None):
        super().__init__(reason)
        self.reason = reason
        self.details = details


def _utc_now() -> datetime:
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class Envelope:
    type: str
    source: str
    data: dict[str, Any]
    subject: str | None = None
    correlation_id: str = field(default_factory=lambda: current_correlation_id() or new_correlation_id())
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    time: datetime = field(default_factory=_utc_now)
    # Who published it, as the broker authenticated them (the AMQP `user_id` property, which RabbitMQ
    # checks against the connection's user); set by the consumer, never part of the JSON.
    user_id: str | None = field(default=None, compare=False)
    # Where the answer to a request goes (the AMQP `reply_to` property); set by the consumer, never
    # part of the JSON. A worker answers `worker.session.query` there, on the uplink exchange.
    reply_to: str | None = field(default=None, compare=False)

    def to_json(self) -> bytes:
        body = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "correlationid": self.correlation_id,
            "data": self.data,
        }
        if self.subject:
            body["subject"] = self.subject
        return dumps(body)


class _EnvelopeSchema(Schema):
    class Meta:
        unknown = RAISE

    specversion = fields.String(required=True, validate=validate.Equal(SPEC_VERSION))
    id = fields.String(required=True, validate=validate.Length(min=1, max=128))
    source = fields.String(required=True, validate=validate.Length(min=1, max=256))
    type = fields.String(required=True, validate=validate.Length(min=1, max=128))
    time = fields.AwareDateTime(required=True)
    subject = fields.String(validate=validate.Length(max=256))
    datacontenttype = fields.String(validate=validate.Equal("application/json"))
    correlationid = fields.String(required=True, validate=validate.Length(min=1, max=128))
    data = fields.Dict(required=True)


_ENVELOPE_SCHEMA = _EnvelopeSchema()


def parse_envelope(body: bytes) -> Envelope:
    """Parse and validate the envelope attributes; `data` is validated by the contract, later."""
    try:
        raw = loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage("body is not JSON", str(exc)) from exc
    if not isinstance(raw, dict):
        raise MalformedMessage("body is not a JSON object")
    try:
        attrs = _ENVELOPE_SCHEMA.load(raw)
    except ValidationError as exc:
        raise MalformedMessage("not a valid envelope", exc.messages) from exc
    return Envelope(
        type=attrs["type"],
        source=attrs["source"],
        data=attrs["data"],
        subject=attrs.get("subject"),
        correlation_id=attrs["correlationid"],
        id=attrs["id"],
        time=attrs["time"],
    )
