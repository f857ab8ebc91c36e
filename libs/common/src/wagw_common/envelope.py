"""The one envelope every broker message travels in: CloudEvents 1.0 attributes in structured JSON
mode, plus a correlation id extension, with `data` validated by the message type's contract."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

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
    # The broker handed this message out before (requeued, or its consumer's channel was lost): whoever
    # had it may still be working on it. Set by the consumer, never part of the JSON.
    redelivered: bool = field(default=False, compare=False)

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


@dataclass(frozen=True)
class _Text:
    """One text attribute of the envelope: whether it must be there, its length, its one allowed value."""

    required: bool
    min_length: int = 1
    max_length: int | None = None
    only: str | None = None

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return "Not a valid string."
        if self.only is not None and value != self.only:
            return f"Must be equal to {self.only}."
        if len(value) < self.min_length or (self.max_length is not None and len(value) > self.max_length):
            return f"Length must be between {self.min_length} and {self.max_length}."
        return None


# Checked by hand rather than by a schema library: every message a process consumes goes through this,
# and a generic schema's load cost more than the rest of the consume path (docs/performance.md).
TEXT_ATTRIBUTES = {
    "specversion": _Text(required=True, only=SPEC_VERSION),
    "id": _Text(required=True, max_length=128),
    "source": _Text(required=True, max_length=256),
    "type": _Text(required=True, max_length=128),
    "subject": _Text(required=False, min_length=0, max_length=256),
    "datacontenttype": _Text(required=False, only="application/json"),
    "correlationid": _Text(required=True, max_length=128),
}
ATTRIBUTES = frozenset(TEXT_ATTRIBUTES) | {"time", "data"}


def _aware_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _attribute_problems(raw: dict[str, Any]) -> tuple[dict[str, list[str]], datetime | None]:
    """Every attribute's problem by name (as a schema's errors read), and the parsed time."""
    problems: dict[str, list[str]] = {}
    for name, rule in TEXT_ATTRIBUTES.items():
        if name not in raw:
            if rule.required:
                problems[name] = ["Missing data for required field."]
            continue
        problem = rule.problem(raw[name])
        if problem:
            problems[name] = [problem]
    time = _aware_time(raw.get("time"))
    if time is None:
        problems["time"] = ["Missing data for required field." if "time" not in raw
                            else "Not a valid aware datetime."]
    if not isinstance(raw.get("data"), dict):
        problems["data"] = ["Missing data for required field." if "data" not in raw else "Not a valid mapping type."]
    for name in raw.keys() - ATTRIBUTES:
        problems[name] = ["Unknown field."]
    return problems, time


def parse_envelope(body: bytes) -> Envelope:
    """Parse and validate the envelope attributes; `data` is validated by the contract, later."""
    try:
        raw = loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedMessage("body is not JSON", str(exc)) from exc
    if not isinstance(raw, dict):
        raise MalformedMessage("body is not a JSON object")
    problems, time = _attribute_problems(raw)
    if problems or time is None:
        raise MalformedMessage("not a valid envelope", problems)
    return Envelope(
        type=raw["type"],
        source=raw["source"],
        data=raw["data"],
        subject=raw.get("subject"),
        correlation_id=raw["correlationid"],
        id=raw["id"],
        time=time,
    )
