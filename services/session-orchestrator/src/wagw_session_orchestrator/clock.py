"""Times at the precision MongoDB stores (milliseconds), so what a reply or an event carries is
exactly what a later read returns."""

from __future__ import annotations

import time
from datetime import datetime

from wagw_common.storage import utc_now

_last_order = 0


def to_stored_precision(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def now() -> datetime:
    return to_stored_precision(utc_now())


def order() -> int:
    """A number that grows with every call in this process (nanoseconds, bumped on a tie): the order in
    which a session's messages were accepted, finer than the stored times, which two sends of one
    session can share. A session's sends are handled by one consumer at a time, so it holds across
    replicas too."""
    global _last_order
    _last_order = max(time.time_ns(), _last_order + 1)
    return _last_order
