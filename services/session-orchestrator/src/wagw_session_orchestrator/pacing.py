"""The send pacing policy as arithmetic: which slot a send gets, what today's warm-up allows, and how
the policy shows in the session view. No I/O here; pacing_slots.py stores the outcome.

A session's pacing state (`pacing_state` on the session) holds the next free slot, the last hand-off
to the worker, and the count of sends accepted today. A send's slot is the later of now, the next
free slot and the last hand-off plus the gap; the slot after it is one gap plus a random jitter on."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

DAILY_LIMIT_REACHED = "pacing_daily_limit"


@dataclass(frozen=True)
class Reserved:
    slot: datetime
    # The fields of `pacing_state` to write (the compare-and-set's new values).
    state: dict[str, Any]


def day_of(moment: datetime) -> str:
    return moment.date().isoformat()


def warmup_day(policy: dict[str, Any], day: str) -> int | None:
    """1 on the day the warm-up began, 2 the day after, …; None without a warm-up or once it is over."""
    warmup = policy.get("warmup")
    if not warmup:
        return None
    number = (date.fromisoformat(day) - date.fromisoformat(policy["since"])).days + 1
    return number if 1 <= number <= warmup["days"] else None


def day_limit(policy: dict[str, Any], day: str) -> int | None:
    """Sends allowed on `day`; None: no limit that day."""
    number = warmup_day(policy, day)
    if number is None:
        return None
    warmup = policy["warmup"]
    return warmup["first_day_limit"] + (number - 1) * warmup["daily_increase"]


def earliest(policy: dict[str, Any], state: dict[str, Any], now: datetime) -> datetime:
    """The next free slot: not before now, the slot after the last one reserved, or a gap after the
    last hand-off (a hand-off that ran late pushes the slots after it)."""
    candidates = [now]
    if state.get("next_free_at"):
        candidates.append(state["next_free_at"])
    if state.get("last_handed_at"):
        candidates.append(state["last_handed_at"] + timedelta(seconds=policy["min_gap_seconds"]))
    return max(candidates)


def sent_on(state: dict[str, Any], day: str) -> int:
    return state.get("sent_today", 0) if state.get("day") == day else 0


def reserve(policy: dict[str, Any], state: dict[str, Any], now: datetime, message_id: str,
            uniform: Callable[[float, float], float] = random.uniform) -> Reserved | str:
    """The slot of one send, or DAILY_LIMIT_REACHED. The same message asking again (a redelivered
    command) gets the slot it was given, without counting twice."""
    if state.get("last_message_id") == message_id and state.get("last_slot") is not None:
        return Reserved(state["last_slot"], {})
    day = day_of(now)
    sent = sent_on(state, day)
    limit = day_limit(policy, day)
    if limit is not None and sent >= limit:
        return DAILY_LIMIT_REACHED
    slot = earliest(policy, state, now)
    spacing = policy["min_gap_seconds"] + uniform(0.0, policy.get("jitter_seconds") or 0.0)
    next_free = slot + timedelta(seconds=spacing)
    # Milliseconds, what MongoDB stores: the value read back must equal the value written.
    next_free = next_free.replace(microsecond=next_free.microsecond // 1000 * 1000)
    return Reserved(slot, {"next_free_at": next_free, "day": day, "sent_today": sent + 1,
                           "last_message_id": message_id, "last_slot": slot})


def policy_to_store(policy: dict[str, Any] | None, previous: dict[str, Any] | None, now: datetime) -> dict | None:
    """The policy as kept on the session. Its warm-up counts from the day a warm-up was first set,
    so changing the gap does not restart a ramp already under way."""
    if policy is None:
        return None
    since = (previous or {}).get("since") if (previous or {}).get("warmup") and policy.get("warmup") else None
    return {**policy, "since": since or day_of(now)}


def view(session: dict[str, Any], now: datetime, waiting: int | None = None) -> dict[str, Any] | None:
    """The policy and what it is doing today, for the session view; None when sends are not paced."""
    policy = session.get("pacing")
    if not policy:
        return None
    state = session.get("pacing_state") or {}
    day = day_of(now)
    return {
        "min_gap_seconds": policy["min_gap_seconds"], "jitter_seconds": policy.get("jitter_seconds", 0.0),
        "warmup": policy.get("warmup"), "since": policy["since"],
        "usage": {"waiting": waiting, "next_slot_at": earliest(policy, state, now), "day": day,
                  "sent_today": sent_on(state, day), "day_limit": day_limit(policy, day)},
    }
