"""Where a platform run spent its time, from the services' own /metrics: messages handled per queue
and the mean time a handler took (wagw_broker_handler_duration_seconds)."""

from __future__ import annotations

from harness.processes import ask_each
from harness.scrape import parse

HANDLER_SECONDS = "wagw_broker_handler_duration_seconds"


def handler_times(text: str) -> dict[str, dict]:
    """{queue: {"handled": n, "mean_ms": m}} from a Prometheus exposition."""
    _, samples = parse(text)
    counts, sums = samples.get(HANDLER_SECONDS + "_count", {}), samples.get(HANDLER_SECONDS + "_sum", {})
    found = {dict(labels)["queue"]: (int(count), sums.get(labels, 0.0)) for labels, count in counts.items()}
    return {queue: {"handled": count, "mean_ms": round(1000 * seconds / count, 2) if count else None}
            for queue, (count, seconds) in sorted(found.items())}


async def platform_handler_times(run) -> dict[str, dict]:
    """Every service's handler times, by service (empty for one that does not answer)."""
    answers = await ask_each(run.services, "/metrics")
    return {name: handler_times(text) if status == 200 else {} for name, (status, text) in answers.items()}
