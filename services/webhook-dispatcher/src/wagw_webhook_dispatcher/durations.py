"""Durations in settings: `500ms`, `5s`, `5m`, `2h`, `1d`, or a bare number of seconds."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def parse_duration(raw: str) -> float:
    """Seconds in `raw`; raises ValueError with the accepted forms."""
    match = _DURATION.match(raw)
    if not match:
        raise ValueError(f"not a duration: {raw!r} (e.g. 500ms, 5s, 5m, 2h, 1d)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_schedule(raw: str) -> tuple[float, ...]:
    """A comma-separated list of durations; empty means no retries."""
    delays = tuple(parse_duration(part) for part in raw.split(",") if part.strip())
    if any(d <= 0 for d in delays):
        raise ValueError("every pause must be longer than zero")
    return delays
