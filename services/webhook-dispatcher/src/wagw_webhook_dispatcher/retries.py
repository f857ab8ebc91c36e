"""What an attempt's outcome means for its delivery: pure functions, no I/O.

Retries wait in delay queues (one per pause, see topology.webhook_wait_queue), so the schedule's
pauses are the only delays there are; a Retry-After answer picks the first pause at least as long."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable

SUCCESS, RETRY, EXHAUSTED, GONE = "success", "retry", "exhausted", "gone"


@dataclass(frozen=True)
class Decision:
    outcome: str
    delay: float = 0.0  # seconds before the next attempt (RETRY only)
    wait: float = 0.0  # how long the job actually waits: the pause, less its jitter


@dataclass(frozen=True)
class RetryPolicy:
    schedule: tuple[float, ...]  # pauses before retry 1, 2, ...
    jitter: float = 0.0
    busy_schedule: tuple[float, ...] = (1.0,)

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.schedule)

    @property
    def delays(self) -> tuple[float, ...]:
        """Every pause a job can wait: one delay queue each."""
        return tuple(sorted(set(self.schedule) | set(self.busy_schedule)))

    def queue_for(self, seconds: float) -> float:
        """The shortest delay queue at least `seconds` long, or the longest there is."""
        return next((d for d in self.delays if d >= seconds), self.delays[-1])

    def decide(self, attempt: int, status_code: int | None, retry_after: float | None = None,
               rand: Callable[[], float] = random.random) -> Decision:
        """After attempt number `attempt` (from 1) of a cycle answered `status_code` (None: no answer)."""
        if status_code is not None and 200 <= status_code < 300:
            return Decision(SUCCESS)
        if status_code == 410:
            return Decision(GONE)
        if attempt >= self.max_attempts:
            return Decision(EXHAUSTED)
        delay = self.schedule[attempt - 1]
        if retry_after is not None and retry_after > delay:
            # The receiver asked for more time: the first delay queue long enough, or the longest there is.
            delay = max(delay, self.queue_for(retry_after))
            return Decision(RETRY, delay, delay)
        return Decision(RETRY, delay, delay * (1 - self.jitter * rand()))

    def busy_pause(self, deferrals: int, turn: float | None = None,
                   rand: Callable[[], float] = random.random) -> tuple[float, float]:
        """(delay queue, wait) for a job put off `deferrals` times already because its endpoint was busy.

        `turn`, when the gate could tell: the seconds until the job's turn would come. The job comes
        back then (within the longest busy pause), in the busy queue that holds it: a shorter step would
        bring it back to be put off again, a longer one would keep it away from a free slot. The steps
        stay the least pause, so that the jobs of a dead endpoint, which are put off for ever, come back
        ever more rarely."""
        step = self.busy_schedule[min(deferrals, len(self.busy_schedule) - 1)]
        if turn is None or turn <= step:
            return step, step * (1 - self.jitter * rand())
        wait = min(turn, max(self.busy_schedule))
        return next(d for d in sorted(self.busy_schedule) if d >= wait), wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
