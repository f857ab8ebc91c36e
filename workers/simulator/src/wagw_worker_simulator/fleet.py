"""`python -m wagw_worker_simulator.fleet`: many simulated workers in one process, for load tests.

They share one broker connection and a small pool of channels, but each is a whole worker: its own
id, command queue, registration, heartbeats and simulated sessions (preloaded as connected, so the
fleet starts at full size without a QR in sight). It prints one JSON line when every worker has
started, and unregisters them all on SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from dataclasses import dataclass

from wagw_common import fast_runtime
from wagw_common.logging import configure_logging, get_logger
from wagw_worker_sdk import BrokerLink, ProcessUsage, ShareOfProcessUsage, Worker, WorkerIdentity

from . import VERSION
from .whatsapp import SimulatedWhatsApp, Timing

log = get_logger(__name__)


@dataclass(frozen=True)
class FleetOptions:
    amqp_url: str
    workers: int = 1000
    sessions: int = 50
    capacity: int = 60
    heartbeat_interval: float = 10.0
    prefix: str = "fleet"
    channels: int = 8
    start_concurrency: int = 32


class Fleet:
    def __init__(self, options: FleetOptions):
        self.options = options
        self.link = BrokerLink(options.amqp_url, name=f"worker-fleet/{options.prefix}",
                               publish_channels=options.channels, consume_channels=options.channels)
        self.members: list[tuple[Worker, SimulatedWhatsApp]] = []

    def worker_id(self, index: int) -> str:
        return f"{self.options.prefix}-{index:05d}"

    async def start(self, startup_timeout: float = 60.0) -> float:
        """Connect and start every worker; returns the seconds it took."""
        started = time.monotonic()
        await self.link.connect(startup_timeout)
        usage = ShareOfProcessUsage(ProcessUsage(), self.options.workers)
        gate = asyncio.Semaphore(self.options.start_concurrency)

        async def start_one(index: int) -> None:
            worker_id = self.worker_id(index)
            worker = Worker(WorkerIdentity(worker_id, max_sessions=self.options.capacity, version=VERSION,
                                           environment="load-test"),
                            link=self.link, heartbeat_interval=self.options.heartbeat_interval, usage=usage,
                            spread_first_beat=True)
            whatsapp = SimulatedWhatsApp(worker.uplink, Timing(status_delay=0.05))
            whatsapp.preload([f"s_{worker_id}_{n:03d}" for n in range(self.options.sessions)])
            self.members.append((worker, whatsapp))
            async with gate:
                await worker.start(whatsapp)

        await asyncio.gather(*(start_one(i) for i in range(self.options.workers)))
        return time.monotonic() - started

    async def stop(self, *, unregister: bool = True) -> None:
        async def stop_one(worker: Worker, whatsapp: SimulatedWhatsApp) -> None:
            await whatsapp.close()
            await (worker.stop("load test over") if unregister else worker.abandon())

        await asyncio.gather(*(stop_one(w, s) for w, s in self.members), return_exceptions=True)
        await self.link.close()


def _options() -> tuple[FleetOptions, bool]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amqp-url", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=50, help="sessions each worker holds")
    parser.add_argument("--capacity", type=int, default=60, help="max sessions each worker announces")
    parser.add_argument("--heartbeat", type=float, default=10.0, help="seconds between a worker's heartbeats")
    parser.add_argument("--prefix", default="fleet", help="worker ids are <prefix>-00000, <prefix>-00001, ...")
    parser.add_argument("--channels", type=int, default=8, help="channels shared by the workers (each way)")
    parser.add_argument("--no-unregister", action="store_true", help="leave without unregistering (as if killed)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    configure_logging("worker-fleet", args.log_level, "json")
    return FleetOptions(amqp_url=args.amqp_url, workers=args.workers, sessions=args.sessions, capacity=args.capacity,
                        heartbeat_interval=args.heartbeat, prefix=args.prefix,
                        channels=args.channels), args.no_unregister


async def _run(options: FleetOptions, unregister: bool) -> None:
    fleet = Fleet(options)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    seconds = await fleet.start()
    print(json.dumps({"event": "fleet.started", "workers": len(fleet.members), "sessions_each": options.sessions,
                      "seconds": round(seconds, 2)}), flush=True)
    await stopping.wait()
    await fleet.stop(unregister=unregister)
    print(json.dumps({"event": "fleet.stopped"}), flush=True)


def main() -> None:
    options, no_unregister = _options()
    fast_runtime.run(lambda: _run(options, unregister=not no_unregister))


if __name__ == "__main__":
    main()
