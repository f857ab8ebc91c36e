"""Paced sends: each send of a paced session takes the session's next free slot and is stored held
with `paced_until`; one replica at a time (a Redis lease) hands those whose slot has come to the
session's worker, a gap after the previous hand-off, with the route claim so each is sent once.

Every paced send goes through this loop, even one whose slot is now: with one path to the worker,
consecutive hand-offs of a session are a gap apart however late any of them ran. The cost is up to
one loop interval (`PACED_RELEASE_INTERVAL_SECONDS`) on a send that could have gone at once."""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby
from typing import Any

from redis.asyncio import Redis

from wagw_common.contracts.session_statuses import SessionStatus
from wagw_common.lease import Lease, run_periodically_under_lease
from wagw_common.logging import get_logger

from . import clock
from .deps import Deps
from .message_routing import hand_to_worker
from .messages_store import MessagesStore
from .pacing_slots import PacingSlots

log = get_logger(__name__)
PACED = "paced"  # the send's disposition: stored held until its slot
_STORED_PRECISION = timedelta(milliseconds=1)


async def pace_send(session: dict[str, Any] | None, message_id: str, disposition: str, *,
                    slots: PacingSlots | None, messages: MessagesStore) -> tuple[str, Any]:
    """(disposition, paced_until): a send the session would route or hold waits for its slot instead,
    or is refused beyond the day's warm-up limit. A redelivered send already stored keeps what it got."""
    if slots is None or session is None or not session.get("pacing") or disposition not in ("route", "hold"):
        return disposition, None
    stored = await messages.get(message_id)
    if stored is not None:
        return (PACED, stored["paced_until"]) if stored.get("paced_until") else (disposition, None)
    outcome = await slots.reserve(session["_id"], message_id, clock.now())
    if outcome is None:
        return disposition, None  # pacing was removed meanwhile
    if isinstance(outcome, str):
        return outcome, None
    return PACED, outcome.slot


async def release_due(deps: Deps) -> int:
    """Hand every paced send whose slot has come to its session's worker, each session's in order and
    a gap apart; a session not CONNECTED keeps its sends (they go when it is back, paced as before)."""
    slots, sessions, messages = deps.pacing, deps.sessions, deps.messages
    relay, broker = deps.message_relay, deps.broker
    released = 0
    for session_id, waiting in groupby(sorted(await slots.due(clock.now()), key=lambda m: m["session_id"]),
                                       key=lambda m: m["session_id"]):
        session = await sessions.get(session_id)
        if session is None or session["status"] != SessionStatus.CONNECTED or not session.get("worker_id"):
            continue
        gap = timedelta(seconds=(session.get("pacing") or {}).get("min_gap_seconds", 0))
        last = (session.get("pacing_state") or {}).get("last_handed_at")
        for message in sorted(waiting, key=lambda m: (m["paced_until"], m.get("order", 0))):
            if last is not None and clock.now() < last + gap:
                break  # the rest of this session's sends wait for a later tick, in order
            if not await messages.claim_route(message["_id"], session["worker_id"]):
                continue  # expired, or handed over by a concurrent release meanwhile
            if await hand_to_worker(message, session["worker_id"], messages=messages, relay=relay, broker=broker):
                # Taken after the publish was confirmed, and rounded up to the stored millisecond: the
                # next hand-off starts a full gap after this one reached the broker, never a fraction less.
                last = clock.now() + _STORED_PRECISION
                await slots.record_handed(session_id, last)
                released += 1
    if released:
        log.info("message.paced_released", count=released)
    return released


async def run(redis: Redis, service: str, deps: Deps, *, interval: float) -> None:
    lease = Lease(redis, f"{service}.paced-release", ttl_seconds=max(3 * interval, 5))

    async def tick() -> None:
        await release_due(deps)

    await run_periodically_under_lease(lease, interval, tick)


async def with_waiting(view: dict[str, Any], slots: PacingSlots | None) -> dict[str, Any]:
    """A session view with its paced sends waiting counted (a read the command replies skip)."""
    if slots is not None and view.get("pacing"):
        view["pacing"]["usage"]["waiting"] = await slots.waiting(view["session_id"])
    return view
