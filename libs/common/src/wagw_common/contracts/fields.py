"""Field types shared by several contracts, so one rule has one definition."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import fields, validate

from .session_statuses import SESSION_STATUSES as SESSION_STATUSES  # re-exported: the field's choices

MESSAGE_STATUSES = ("queued", "sent", "delivered", "read", "failed")
WORKER_STATES = ("online", "offline", "draining")

_WORKER_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def normalize_worker_id(raw: str) -> str:
    """The seed's rule: lower case, runs of anything else become single hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", raw.strip().lower()).strip("-")


def object_id() -> fields.String:
    return fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$"))


def worker_id(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=[validate.Length(min=1, max=64), validate.Regexp(_WORKER_ID,
                                                                  error="must be lower-case words joined by hyphens")],
        **{"required": True, **kwargs},
    )


def session_status(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(SESSION_STATUSES), **{"required": True, **kwargs})


def message_status(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(MESSAGE_STATUSES), **{"required": True, **kwargs})


def timestamp(**kwargs: Any) -> fields.AwareDateTime:
    return fields.AwareDateTime(**{"required": True, **kwargs})


def text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_length), **kwargs)


def chat_id(**kwargs: Any) -> fields.String:
    # Digits of an international number, optionally already a WhatsApp id (…@s.whatsapp.net / @g.us).
    return fields.String(
        validate=validate.Regexp(
            r"^(\+?[0-9]{6,15}|[0-9]{6,15}@s\.whatsapp\.net|[0-9]{6,20}@lid|[0-9]{6,20}(-[0-9]{6,12})?@g\.us)$",
            error="must be an international phone number (digits, optional +) or a WhatsApp chat id",
        ),
        **{"required": True, **kwargs},
    )
