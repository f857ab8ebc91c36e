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
                                 events_per_user=2, client_processes=4)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        scenarios = args.realtime_scenarios.split(",")
        if args.replicas > 1:  # the realtime service at the run's scale, its headline scenario
            scenarios = [s if s != "realtime-1" else f"realtime-{args.replicas}" for s in scenarios]
        for name in scenarios:
            if name == "bare-socketio":
                results.append(await realtime.bare_scenario(options, Path(tmp), log_dir))
            elif name == "broker-only":
                results.append(await realtime.broker_scenario(options))
            else:
                results.append(await realtime.realtime_scenario(int(name.split("-")[1]), options, Path(tmp), log_dir))
    return {"parameters": vars(options), "scenarios": results, "headline": f"realtime-{args.replicas}"}
