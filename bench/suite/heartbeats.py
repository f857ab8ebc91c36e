"""Part 3, heartbeats: bench/workers (1,000 simulated workers x 50 sessions into one registry) with its
same-run baseline, the bare broker carrying the same messages, paced and as fast as possible."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.infra import MONGO_URI, create_vhost, delete_vhost

from .reuse import load


async def run(args, log_dir: Path) -> dict:
    workers = load("workers")
    options = argparse.Namespace(workers=args.heartbeat_workers, sessions=50, heartbeat=10.0,
                                 duration=args.heartbeat_seconds, channels=8, catch_up=180.0, mongodb_uri=MONGO_URI)
    log_dir.mkdir(parents=True, exist_ok=True)
    vhost = await create_vhost("wagw-bench-workers")
    try:
        fleet = await workers.fleet_run(options, vhost, log_dir)
        rate = options.workers / options.heartbeat
        base = await workers.broker_baseline(
            vhost, body=workers.heartbeat_body(options.sessions), paced_rate=rate,
            paced_count=int(min(rate * 15, fleet["heartbeats_measured"] or rate)),
            count=max(fleet["heartbeats_measured"], 1000))
    finally:
        await delete_vhost(vhost)
    return {"fleet": fleet, "broker_baseline": base}
