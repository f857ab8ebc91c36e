"""Opaque history cursors: the (created_at, message id) of the last message a page showed.

Times are kept to the millisecond, the precision MongoDB stores, so a cursor compares exactly
with the stored value it came from."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timezone

from wagw_common.errors import DomainError

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidCursor(DomainError):
    code = "invalid"


def encode_cursor(created_at: datetime, message_id: str) -> str:
    millis = int(created_at.astimezone(timezone.utc).timestamp() * 1000)
    raw = f"{millis}:{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
        millis, message_id = raw.split(":", 1)
        created_at = datetime.fromtimestamp(int(millis) / 1000, tz=timezone.utc)
    except (ValueError, UnicodeError, binascii.Error, OverflowError, OSError):
        raise InvalidCursor("the cursor is not one this service gave out", {"before": cursor}) from None
    if not _ID.match(message_id):
        raise InvalidCursor("the cursor is not one this service gave out", {"before": cursor})
    return created_at, message_id


def before_filter(cursor: str | None) -> dict:
    """The part of a newest-first query that skips what earlier pages already showed."""
    if not cursor:
        return {}
    created_at, message_id = decode_cursor(cursor)
    return {"$or": [
        {"created_at": {"$lt": created_at}},
        {"created_at": created_at, "_id": {"$lt": message_id}},
    ]}
