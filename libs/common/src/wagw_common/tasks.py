"""Cancellation that means what it says: background tasks that really stop, and a CancelledError
that nobody asked for turned into the error it is.

On Python 3.11 a cancellation that reaches `asyncio.wait_for` in the same loop turn as its inner
await completes is lost: the task carries on as if never cancelled (fixed in 3.12). Libraries we
call (aiormq's publish timeout among them) still use `wait_for`, so one `cancel()` is not enough
for a loop that publishes: a worker's heartbeat loop kept beating after its stop and the stop
waited forever. Our own code bounds awaits with `asyncio.timeout`, which does not lose them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .logging import get_logger

log = get_logger(__name__)

RECANCEL_AFTER_SECONDS = 0.5


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], *,
                          recancel_after: float = RECANCEL_AFTER_SECONDS) -> None:
    """Cancel the tasks and return once every one has ended, cancelling again any that shrugged
    the cancellation off. Their failures are logged, never raised: this runs on the way out."""
    tasks = set(tasks)  # a copy: a caller's set may lose its members as they end
    pending = {task for task in tasks if not task.done()}
    ended = tasks - pending
    while pending:
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=recancel_after)
        ended |= done
        if pending:
            log.warning("tasks.cancellation_lost", tasks=sorted(task.get_name() for task in pending))
    for task in ended:
        if not task.cancelled() and task.exception() is not None:
            log.warning("tasks.ended_with_error", task=task.get_name(), error=repr(task.exception()))


class CancelledUnderUs(ConnectionError):
    """An await ended in CancelledError though nobody cancelled the task: aiormq rejects the futures
    pending on a channel or connection it closes (a broker restart) with CancelledError. Left as it
    is, it ends the calling loop as silently as a real cancellation would (a worker's heartbeats
    stopped that way after a broker restart, with nothing logged)."""


@contextmanager
def cancellation_only_from_callers(what: str) -> Iterator[None]:
    """Let a CancelledError through only when this task was cancelled (`Task.cancelling()`, which our
    own `asyncio.timeout` counts too); any other becomes CancelledUnderUs, a ConnectionError that
    retries and error handlers treat as the broker being away."""
    try:
        yield
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is None or task.cancelling():
            raise
        raise CancelledUnderUs(f"{what}: cancelled under us (the broker client closed what it waited on)") from None
