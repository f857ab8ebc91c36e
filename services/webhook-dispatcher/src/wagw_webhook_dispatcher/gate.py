"""Per-endpoint concurrency in one replica: a slow or dead endpoint holds at most `limit` of the
replica's delivery slots.

A job that finds its endpoint full may wait for a turn in a short in-process queue when that turn is
expected soon (`expected_wait` within `patience`); a finished attempt hands its slot straight to the
waiter whose attempt has been due the longest. So a fast endpoint receiving a burst is served as
quickly as its slots free up, while a job for a slow endpoint (or one the gate knows nothing about yet,
beyond `limit` waiters) is put off to a delay queue, for about its expected wait, and the replica's
other slots go to other endpoints' deliveries meanwhile.

Waiters are ordered by when their attempt became due, not by arrival: a job coming back from a put-off
takes its place ahead of the jobs that arrived while it was away, so waiting in a delay queue costs it
no more than waiting here would have. Served by arrival instead, a busy endpoint's returning jobs met
a room refilled by newer ones, were put off again with longer pauses each time, and made the latency
tail (seconds of pauses for a wait of one)."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import time
from collections import Counter
from contextlib import asynccontextmanager
from typing import AsyncIterator

from .metrics import IN_FLIGHT, WAITING

PATIENCE_SECONDS = 1.0
_PACE_WEIGHT = 0.2  # of the latest attempt in an endpoint's running average

_Waiter = tuple[float, int, asyncio.Future]  # (due, arrival number: ties and identity, turn)


class EndpointGate:
    def __init__(self, limit: int, *, waiting_room: int = 32, patience: float = PATIENCE_SECONDS):
        self.limit = limit
        self.waiting_room = waiting_room  # at most this many waiters per endpoint, however fast it is
        self.patience = patience
        self._running: Counter[str] = Counter()
        self._waiters: dict[str, list[_Waiter]] = {}  # oldest due first
        self._pace: dict[str, float] = {}  # endpoint -> recent seconds per attempt
        self._arrivals = itertools.count()

    def running(self, endpoint_id: str) -> int:
        return self._running[endpoint_id]

    def waiting(self, endpoint_id: str) -> int:
        return len(self._waiters.get(endpoint_id, ()))

    def expected_wait(self, endpoint_id: str, due: float) -> float | None:
        """Seconds until a job due at `due` (epoch seconds) would get a slot, or None when the gate has
        not yet timed an attempt to the endpoint.

        Each waiter due before it takes a slot first, and a slot frees about every `pace / limit`
        seconds while all of them are busy (`pace`: the endpoint's recent time per attempt, claim and
        POST, a running average). Counting only the older waiters, not the whole room, is what lets a
        job put off earlier in after the jobs that have been due a shorter time than it."""
        pace = self._pace.get(endpoint_id)
        if pace is None:
            return None
        return (self._ahead(endpoint_id, due) + 1) / self.limit * pace

    @asynccontextmanager
    async def enter(self, endpoint_id: str, *, due: float | None = None) -> AsyncIterator[bool]:
        """Yields True with a slot held for the block, or False (and holds nothing) when the endpoint
        stayed full. `due`: when the job's attempt became due (epoch seconds; now when not said)."""
        if self._running[endpoint_id] < self.limit and not self.waiting(endpoint_id):
            self._running[endpoint_id] += 1
        elif not await self._wait_for_turn(endpoint_id, time.time() if due is None else due):
            yield False
            return
        IN_FLIGHT.inc()
        started = time.monotonic()
        try:
            yield True
        finally:
            IN_FLIGHT.dec()
            self._note_pace(endpoint_id, time.monotonic() - started)
            self._leave(endpoint_id)

    def _ahead(self, endpoint_id: str, due: float) -> int:
        return bisect.bisect_right([w[0] for w in self._waiters.get(endpoint_id, ())], due)

    def _note_pace(self, endpoint_id: str, seconds: float) -> None:
        previous = self._pace.get(endpoint_id)
        self._pace[endpoint_id] = seconds if previous is None else previous + _PACE_WEIGHT * (seconds - previous)

    def _turn_expected_soon(self, endpoint_id: str, due: float) -> bool:
        if self.waiting(endpoint_id) >= self.waiting_room:
            return False
        expected = self.expected_wait(endpoint_id, due)
        if expected is None:
            return self._ahead(endpoint_id, due) < self.limit  # nothing known yet: one round of the slots
        return expected <= self.patience

    async def _wait_for_turn(self, endpoint_id: str, due: float) -> bool:
        """True once a leaving attempt handed its slot over (the running count stays as it was)."""
        if not self._turn_expected_soon(endpoint_id, due):
            return False
        turn = asyncio.get_running_loop().create_future()
        waiter = (due, next(self._arrivals), turn)
        queue = self._waiters.setdefault(endpoint_id, [])
        bisect.insort(queue, waiter, key=lambda w: (w[0], w[1]))
        WAITING.inc()
        try:
            # Twice the expected wait at most: an endpoint that slowed down (or jobs due earlier that
            # came in meanwhile) sends its waiters on their way.
            await asyncio.wait({turn}, timeout=2 * self.patience)
        except asyncio.CancelledError:
            if turn.done():  # handed a slot at the moment this task was cancelled: pass it on
                self._leave(endpoint_id)
            raise
        finally:
            WAITING.dec()
            if not turn.done():
                turn.cancel()
                queue.remove(waiter)
            if not queue and self._waiters.get(endpoint_id) is queue:
                del self._waiters[endpoint_id]
        return not turn.cancelled()

    def _leave(self, endpoint_id: str) -> None:
        queue = self._waiters.get(endpoint_id)
        while queue:
            _, _, turn = queue.pop(0)
            if not turn.done():
                turn.set_result(None)  # the slot goes to the waiter due the longest, not to whoever arrives next
                return
        self._waiters.pop(endpoint_id, None)
        self._running[endpoint_id] -= 1
        if not self._running[endpoint_id]:
            del self._running[endpoint_id]
