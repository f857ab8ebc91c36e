"""A session's send pacing: the policy a tenant sets with the session PATCH, and how it shows in the
session view (the policy, and what it is doing today)."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from .base import StrictSchema

# A day is the longest gap that still paces rather than stops; an hour of jitter is already far more
# than any ban heuristic looks at.
MAX_GAP_SECONDS = 86_400
MAX_JITTER_SECONDS = 3_600
MAX_DAILY_LIMIT = 1_000_000
MAX_WARMUP_DAYS = 365


def _seconds(maximum: int, **kwargs: Any) -> fields.Float:
    return fields.Float(allow_nan=False, validate=validate.Range(min=0, max=maximum), **kwargs)


class Warmup(StrictSchema):
    """A new number's daily ramp: day 1 allows `first_day_limit` sends, each following day
    `daily_increase` more, for `days` days; after that, no daily limit."""

    first_day_limit = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_DAILY_LIMIT))
    daily_increase = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_DAILY_LIMIT))
    days = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_WARMUP_DAYS))


class PacingPolicy(StrictSchema):
    """Sends of the session reach its worker at least `min_gap_seconds` apart, plus a random
    0..`jitter_seconds` each, within the day's warm-up limit."""

    min_gap_seconds = _seconds(MAX_GAP_SECONDS, required=True)
    jitter_seconds = _seconds(MAX_JITTER_SECONDS, load_default=0.0)
    warmup = fields.Nested(Warmup, allow_none=True, load_default=None)

    @validates_schema
    def paces_something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data.get("min_gap_seconds") and not data.get("jitter_seconds") and not data.get("warmup"):
            raise ValidationError("paces nothing: give a gap, a jitter or a warm-up (or null to remove pacing)",
                                  "min_gap_seconds")


class PacingUsage(StrictSchema):
    """What the policy is doing: sends waiting for their slot, the next free slot, today's count."""

    waiting = fields.Integer(allow_none=True, required=True, metadata={
        "description": "accepted sends waiting for their slot; null in a command's reply (counted by get and list)"})
    next_slot_at = fields.AwareDateTime(required=True, metadata={"description": "when the next send may go"})
    day = fields.String(required=True, metadata={"description": "today (UTC), YYYY-MM-DD"})
    sent_today = fields.Integer(required=True, metadata={"description": "sends accepted today (UTC)"})
    day_limit = fields.Integer(allow_none=True, required=True,
                               metadata={"description": "today's warm-up limit; null: none (no or finished warm-up)"})


class PacingSet(PacingPolicy):
    """The policy as the session keeps it: as set, with the day its warm-up counts from."""

    since = fields.String(required=True, metadata={"description": "the warm-up's day 1 (UTC), YYYY-MM-DD"})


class PacingView(PacingSet):
    usage = fields.Nested(PacingUsage, required=True)


POLICY_EXAMPLE = {"min_gap_seconds": 8, "jitter_seconds": 4,
                  "warmup": {"first_day_limit": 20, "daily_increase": 20, "days": 10}}
POLICY_SET_EXAMPLE = {**POLICY_EXAMPLE, "since": "2026-01-01"}
# As a command's reply shows it (`waiting` is counted by get and list).
PACING_VIEW_EXAMPLE = {**POLICY_SET_EXAMPLE, "usage": {
    "waiting": None, "next_slot_at": "2026-01-01T12:00:09Z", "day": "2026-01-01", "sent_today": 3, "day_limit": 20}}
