"""A closed-loop HTTP load: `clients` connections each sending one request after another for a while.

Every request's latency is kept (from just before it is written to its response read), with its
status; only the expected status counts as accepted."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Callable

import aiohttp

from .stats import latency_summary, rate


async def closed_loop(url: str | list[str], *, clients: int, seconds: float, body: Callable[[int], dict],
                      headers: dict | None = None, expect: int = 202, warm_up: float = 2.0) -> dict:
    """POST `body(n)` to `url` from `clients` concurrent clients; the first `warm_up` seconds are not counted.
    Several URLs (replicas): the clients are spread over them in turn."""
    urls = [url] if isinstance(url, str) else url
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    counter = 0
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers or {}) as http:
        started = time.perf_counter()
        measure_from = started + warm_up
        stop_at = measure_from + seconds

        async def client(url: str) -> None:
            nonlocal counter
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                counter += 1
                try:
                    async with http.post(url, json=body(counter)) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    status = None
                    if sent >= measure_from:
                        errors[type(exc).__name__] += 1
                done = time.perf_counter()
                if sent >= measure_from and done <= stop_at:
                    statuses[status] += 1
                    if status == expect:
                        latencies.append(done - sent)

        await asyncio.gather(*(client(urls[i % len(urls)]) for i in range(clients)))
    accepted = len(latencies)
    return {"clients": clients, "seconds": seconds, "accepted": accepted, "rate_per_s": rate(accepted, seconds),
            "latency": latency_summary(latencies), "statuses": {str(k): v for k, v in sorted(statuses.items(),
                                                                                             key=str)},
            "errors": dict(errors)}
