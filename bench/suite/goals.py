"""The performance goals the headlines are judged by, and the figures they were set against (the
"before" of each, shown as the previous value until a run of this bench has measured it)."""

from __future__ import annotations

# (part, figure) -> what the figure was when the goals were set, from the full bench runs they cite
# (midpoint of the range measured).
BEFORE = {
    ("completed", "CPU per message, without database"): 39.0,
    ("completed", "DB commands per message"): 14.2,
    ("completed", "broker deliveries per message"): 18.0,
    ("completed", "completed sends"): 34.5,
    ("sends", "gateway CPU per send"): 1.55,
    ("realtime", "push p99"): 779.0,
}
BEFORE_LABEL = "goals-set"  # shown in place of a run's time for the figures above

CPU_PER_MESSAGE_MAX_MS = 15.0
DB_COMMANDS_MAX = 8.0
BROKER_DELIVERIES_MAX = 10.0
COMPLETED_MIN_PER_S = 100.0
GATEWAY_CPU_MAX_MS = 0.5
PUSH_P99_MAX_MS = 100.0
PUSH_P99_MAX_VS_BARE = 5.0


def at_most(value, limit) -> bool | None:
    return None if value is None else value <= limit


def at_least(value, limit) -> bool | None:
    return None if value is None else value >= limit


def push_p99_met(p99, bare_p99) -> bool | None:
    if p99 is None:
        return None
    return p99 <= PUSH_P99_MAX_MS and (bare_p99 is None or p99 <= PUSH_P99_MAX_VS_BARE * bare_p99)


def summed(ms_by_process: dict | None, service: str) -> float | None:
    """A service's milliseconds over all its replicas (`gateway`, `gateway-1`, ...)."""
    shares = [ms for name, ms in (ms_by_process or {}).items() if name == service or name.startswith(service + "-")]
    return round(sum(shares), 3) if shares else None
