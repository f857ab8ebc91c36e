"""`make bench`: the platform measured part by part, each beside a baseline taken in the same run on the
same machine. All figures go to bench/results/bench-<time>.json with a chart beside it (.png), and a
short table is printed. One part alone: `make bench ARGS='--only sends'` (several: `--only sends,completed`).

Parts (bench/suite/, a module each):
  sends       POST /api/v1/send, 64 clients, 30 s        vs a bare aiohttp handler's confirmed publish
  completed   sends until message.sent webhook + history  vs the bare broker's publish->consume rate
  heartbeats  1,000 workers x 50 sessions (bench/workers) vs the bare broker with the same messages
  webhooks    dispatch to a local sink, 10% failing       vs a bare HTTP client posting the same
  realtime    fan-out to 1,000 Socket.IO clients          vs a bare python-socketio server (bench/realtime)
  failover    a worker SIGKILLed: time to sessions back   vs the registry's offline timeout
  scaling     each service alone, two replicas            vs the same service at one replica"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for path in (REPO / "tests", REPO / "bench", REPO / "bench" / "workers"):
    sys.path.insert(0, str(path))

from suite import parts  # noqa: E402
from suite.cancellable import run_cancellable  # noqa: E402
from suite.report import assemble, compare_with_earlier, table  # noqa: E402
from suite.stats import load_average  # noqa: E402
from wagw_common.logging import configure_logging  # noqa: E402

RESULTS = REPO / "bench" / "results"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(parts.ORDER),
                        help=f"comma-separated parts: {', '.join(parts.ORDER)}")
    parser.add_argument("--clients", type=int, default=64, help="sends: concurrent HTTP clients")
    parser.add_argument("--send-seconds", type=float, default=30.0, help="sends: measured seconds")
    parser.add_argument("--completed-seconds", type=float, default=60.0, help="completed: seconds of sending")
    parser.add_argument("--in-flight", type=int, default=32,
                        help="completed: messages sent and not yet completed at any time (closed loop)")
    parser.add_argument("--completed-sessions", type=int, default=8, help="completed: sessions sent through")
    parser.add_argument("--completion-timeout", type=float, default=60.0,
                        help="completed: seconds a message may take before it counts as lost")
    parser.add_argument("--broker-messages", type=int, default=20000, help="completed: bare broker messages")
    parser.add_argument("--heartbeat-seconds", type=float, default=60.0,
                        help="heartbeats: measured seconds once all 1,000 workers beat (shorter for a quick run)")
    parser.add_argument("--heartbeat-workers", type=int, default=1000, help="heartbeats: simulated workers")
    parser.add_argument("--webhook-events", type=int, default=100, help="webhooks: events published (x endpoints)")
    parser.add_argument("--webhook-seconds", type=float, default=30.0,
                        help="webhooks: seconds measured from the first publish (or until all are delivered)")
    parser.add_argument("--webhook-endpoints", type=int, default=20, help="webhooks: endpoints (10%% of them failing)")
    parser.add_argument("--realtime-clients", type=int, default=1000, help="realtime: Socket.IO clients")
    parser.add_argument("--realtime-scenarios", default="bare-socketio,broker-only,realtime-1,realtime-1-paced",
                        help="realtime: bench/realtime scenarios (realtime-2: two replicas; -paced: one publish at a "
                             "time, as the bare server emits)")
    parser.add_argument("--realtime-in-flight", type=int, default=100,
                        help="realtime: the burst's publishes awaiting their confirm at once")
    parser.add_argument("--replicas", type=int, default=1,
                        help="sends, completed, webhooks: every service started this many times")
    parser.add_argument("--scaling-seconds", type=float, default=20.0,
                        help="scaling: measured seconds of the gateway's load at each number of replicas")
    parser.add_argument("--scaling-sends", type=int, default=600,
                        help="scaling: the orchestrator's backlog of sends at each number of replicas")
    parser.add_argument("--scaling-deliveries", type=int, default=2000,
                        help="scaling: the dispatcher's backlog of deliveries at each number of replicas")
    parser.add_argument("--scaling-timeout", type=float, default=180.0,
                        help="scaling: seconds a backlog may take before its round ends unfinished")
    parser.add_argument("--scaling-sessions", type=int, default=16,
                        help="scaling: sessions the orchestrator's backlog is spread over (it handles each in order)")
    parser.add_argument("--scaling-endpoints", type=int, default=4,
                        help="scaling: the dispatcher's endpoints (each event is delivered to every one)")
    parser.add_argument("--log-level", default="info", help="the services' LOG_LEVEL (info, as deployed)")
    parser.add_argument("--profile-gateway", action="store_true",
                        help="sends: sample the gateway with py-spy through the window (slows it a little)")
    parser.add_argument("--profile-completed", action="store_true",
                        help="completed: sample every service and worker with py-spy through the window")
    args = parser.parse_args(argv)
    args.only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.only) - set(parts.ORDER)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    return args


def earlier_reports(folder: Path) -> list[dict]:
    """Every readable earlier `make bench` result (a broken or foreign file is skipped, not fatal)."""
    found = []
    for path in sorted(folder.glob("bench-*.json")):
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(report, dict) and report.get("benchmark") == "platform":
            found.append(report)
    return found


async def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    configure_logging("bench", "warning")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    log_dir = RESULTS / "logs" / f"bench-{stamp}"
    conditions = {"cpus": os.cpu_count(), "load_average_at_start": load_average(), "started_at": stamp,
                  "replicas": args.replicas}
    results, errors = {}, {}
    for name in args.only:
        print(f"--- {name}", flush=True)
        started = time.monotonic()
        try:
            results[name] = await parts.RUNNERS[name](args, log_dir / name)
            results[name]["load_average_after"] = load_average()
            results[name]["wall_seconds"] = round(time.monotonic() - started, 1)
        except Exception as exc:  # one broken part does not lose the others' figures
            errors[name] = f"{type(exc).__name__}: {exc}"
            print(f"{name} FAILED: {errors[name]}", flush=True)
    conditions["load_average_at_end"] = load_average()
    report = assemble(results, errors, conditions, command="make bench" + (f" ARGS='{' '.join(sys.argv[1:])}'"
                                                                           if sys.argv[1:] else ""))
    RESULTS.mkdir(parents=True, exist_ok=True)
    compare_with_earlier(report, earlier_reports(RESULTS))
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    try:
        from suite.chart import draw
        draw(report, path.with_suffix(".png"))
    except Exception as exc:  # the figures are in the JSON even if the chart fails
        print(f"chart not drawn: {exc!r}")
    print(table(report))
    print(f"\nwritten to {path.relative_to(REPO)} and {path.with_suffix('.png').relative_to(REPO)}")
    return 1 if errors else 0


if __name__ == "__main__":
    run_cancellable(main)  # SIGTERM or SIGINT cancels the run, so processes, vhosts and databases are cleaned up
