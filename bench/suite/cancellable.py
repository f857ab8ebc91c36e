"""A benchmark's entry point: its `main()` coroutine run so that SIGTERM or SIGINT cancels it, and its
own clean-up (processes, vhosts, databases) runs on the way out."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Awaitable, Callable


async def _cancellable(main: Callable[[], Awaitable[int]]) -> int:
    task = asyncio.current_task()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    return await main()


def run_cancellable(main: Callable[[], Awaitable[int]]) -> None:
    """Exits with main()'s return code, or with "interrupted" when a signal cancelled it."""
    try:
        sys.exit(asyncio.run(_cancellable(main)))
    except asyncio.CancelledError:
        sys.exit("interrupted")
