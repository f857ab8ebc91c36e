"""Part 3, realtime fan-out: bench/realtime's scenarios (a burst of session events to 1,000 Socket.IO
clients) with its same-run baselines: a bare python-socketio server, and the broker alone."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from .reuse import load


async def run(args, log_dir: Path) -> dict:
    realtime = load("realtime")
    options = argparse.Namespace(clients=args.realtime_clients, users=max(1, args.realtime_clients // 2),
                                 events_per_user=2, client_processes=4, in_flight=args.realtime_in_flight)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scenarios = args.realtime_scenarios.split(",")
        if args.replicas > 1:  # the realtime service at the run's scale, its headline scenario
            scenarios = [s.replace("realtime-1", f"realtime-{args.replicas}", 1) for s in scenarios]
        for name in scenarios:
            results.append(await realtime.named_scenario(name, options, Path(tmp), log_dir))
    return {"parameters": vars(options), "scenarios": results, "headline": f"realtime-{args.replicas}"}
