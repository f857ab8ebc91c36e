"""Per-endpoint concurrency in one replica: a slow or dead endpoint holds at most `limit` of the
replica's delivery slots.

A job that finds its endpoint full may wait for a turn in a short in-process queue (first come, first
served; a finished attempt hands its slot straight to the next waiter) when that turn is expected
soon: the queue's length divided by the slots, times the endpoint's recent attempt duration, within
`patience`. So a fast endpoint receiving a burst is served as quickly as its slots free up, while a
job for a slow endpoint (or one the gate knows nothing about yet, beyond `limit` waiters) is put off
to a delay queue at once, and the replica's other slots go to other endpoints' deliveries meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from contextlib import asynccontextmanager
from typing import AsyncIterator

from .metrics import IN_FLIGHT, WAITING

PATIENCE_SECONDS = 1.0
_PACE_WEIGHT = 0.2  # of the latest attempt in an endpoint's running average


class EndpointGate:
    def __init__(self, limit: int, *, waiting_room: int = 32, patience: float = PATIENCE_SECONDS):
        self.limit = limit
        self.waiting_room = waiting_room  # at most this many waiters per endpoint, however fast it is
        self.patience = patience
        self._running: Counter[str] = Counter()
        self._waiters: dict[str, deque[asyncio.Future]] = {}
        self._pace: dict[str, float] = {}  # endpoint -> recent seconds per attempt

    def running(self, endpoint_id: str) -> int:
        return self._running[endpoint_id]

    def waiting(self, endpoint_id: str) -> int:
        return len(self._waiters.get(endpoint_id, ()))

    @asynccontextmanager
    async def enter(self, endpoint_id: str) -> AsyncIterator[bool]:
        """Yields True with a slot held for the block, or False (and holds nothing) when the endpoint
        stayed full."""
        if self._running[endpoint_id] < self.limit and not self.waiting(endpoint_id):
            self._running[endpoint_id] += 1
        elif not await self._wait_for_turn(endpoint_id):
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

    def _note_pace(self, endpoint_id: str, seconds: float) -> None:
        previous = self._pace.get(endpoint_id)
        self._pace[endpoint_id] = seconds if previous is None else previous + _PACE_WEIGHT * (seconds - previous)

    def _turn_expected_soon(self, endpoint_id: str, ahead: int) -> bool:
        if ahead >= self.waiting_room:
            return False
        pace = self._pace.get(endpoint_id)
        if pace is None:
            return ahead < self.limit  # nothing known yet: one more round of the endpoint's slots
        return (ahead + 1) / self.limit * pace <= self.patience

    async def _wait_for_turn(self, endpoint_id: str) -> bool:
        """True once a leaving attempt handed its slot over (the running count stays as it was)."""
        queue = self._waiters.setdefault(endpoint_id, deque())
        if not self._turn_expected_soon(endpoint_id, len(queue)):
            if not queue:
                del self._waiters[endpoint_id]
            return False
        turn = asyncio.get_running_loop().create_future()
        queue.append(turn)
        WAITING.inc()
        try:
            # Twice the expected wait at most: an endpoint that slowed down sends its waiters on their way.
            await asyncio.wait({turn}, timeout=2 * self.patience)
        except asyncio.CancelledError:
            if turn.done():  # handed a slot at the moment this task was cancelled: pass it on
                self._leave(endpoint_id)
            raise
        finally:
            WAITING.dec()
            if not turn.done():
                turn.cancel()
                queue.remove(turn)
            if not queue and self._waiters.get(endpoint_id) is queue:
                del self._waiters[endpoint_id]
        return not turn.cancelled()

    def _leave(self, endpoint_id: str) -> None:
        queue = self._waiters.get(endpoint_id)
        while queue:
            turn = queue.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot goes to the first waiter, not to whoever arrives next
                return
        self._waiters.pop(endpoint_id, None)
        self._running[endpoint_id] -= 1
        if not self._running[endpoint_id]:
            del self._running[endpoint_id]
