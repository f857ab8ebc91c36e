"""Times at the precision MongoDB stores (milliseconds), so what a reply or an event carries is
exactly what a later read returns."""

from __future__ import annotations

from datetime import datetime

from wagw_common.storage import utc_now


def to_stored_precision(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def now() -> datetime:
    return to_stored_precision(utc_now())
