"""Where a platform run spent its time, from the services' own /metrics: messages handled per queue
and the mean time a handler took (wagw_broker_handler_duration_seconds)."""

from __future__ import annotations

import re

import aiohttp

_LINE = re.compile(r'^wagw_broker_handler_duration_seconds_(sum|count)\{[^}]*queue="([^"]+)"[^}]*\} (\S+)$')


def handler_times(text: str) -> dict[str, dict]:
    """{queue: {"handled": n, "mean_ms": m}} from a Prometheus exposition."""
    found: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            kind, queue, value = match.groups()
            found.setdefault(queue, {})[kind] = float(value)
    return {queue: {"handled": int(v.get("count", 0)),
                    "mean_ms": round(1000 * v.get("sum", 0) / v["count"], 2) if v.get("count") else None}
            for queue, v in sorted(found.items())}


async def platform_handler_times(run) -> dict[str, dict]:
    """Every service's handler times, by service."""
    out = {}
    async with aiohttp.ClientSession() as http:
        for name, process in run.services.items():
            try:
                async with http.get(process.url + "/metrics", timeout=aiohttp.ClientTimeout(total=5)) as response:
                    out[name] = handler_times(await response.text())
            except (aiohttp.ClientError, TimeoutError):
                out[name] = {}
    return out
