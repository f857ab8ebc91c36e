"""Part 3, failover: three simulated workers hold 60 connected sessions; the busiest is SIGKILLed and
the time until every session is CONNECTED again on a living worker is measured (the flow of
tests/e2e/test_session_failover.py, from tests/harness/failover.py). Beside its floor: the registry's
offline timeout (missed heartbeats x interval), which no failover can beat."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import redis
from harness.api import GatewayClient
from harness.failover import OFFLINE_AFTER, connected_sessions, failover_run, kill_and_wait_back
from harness.infra import create_vhost, delete_vhost


async def run(args, log_dir: Path) -> dict:
    vhost = await create_vhost("wagw-bench-failover")
    platform = failover_run(vhost, LOG_LEVEL=args.log_level)
    redis.Redis.from_url(platform.redis_url).flushdb()
    try:
        await platform.start()
        async with aiohttp.ClientSession() as http:
            api = GatewayClient(platform.url("gateway"), http)
            # Generous waits: on a busy machine, placing 60 sessions alone can take a minute.
            try:
                customers, keys, by_worker = await connected_sessions(platform, api, customers=3, sessions_each=20,
                                                                      timeout=180)
            except TimeoutError:
                raise TimeoutError("the 60 sessions were not all CONNECTED within 180 s (before the kill)") from None
            victim = max(by_worker, key=lambda w: len(by_worker[w]))
            try:
                seconds, back = await kill_and_wait_back(platform, api, customers, victim, timeout=OFFLINE_AFTER + 180)
            except TimeoutError:
                raise TimeoutError(f"sessions not all back within {OFFLINE_AFTER + 180} s of the kill") from None
    finally:
        platform.stop()
        platform.drop_databases()
        await delete_vhost(vhost)
    return {"workers": 3, "sessions": len(keys), "moved": len(by_worker[victim]),
            "recovered_after_s": round(seconds, 2), "offline_timeout_s": OFFLINE_AFTER,
            "after_timeout_s": round(seconds - OFFLINE_AFTER, 2),
            "placement_after": {w: sum(1 for s in back if s["worker_id"] == w) for w in {s["worker_id"] for s in back}}}
