"""Control over one service's replicas in a bench platform: a second replica started like the first,
every replica held (SIGSTOP) while a backlog is made and let go at once, the rest of the platform
stopped so the measured service is the only one working."""

from __future__ import annotations

import asyncio
import contextlib

from harness.platform_run import PlatformRun
from harness.processes import ServiceProcess, free_port


def service_of(process_name: str) -> str:
    """`gateway-1` -> `gateway`: a replica's key without its number (service names have dashes too)."""
    base, _, number = process_name.rpartition("-")
    return base if base and number.isdigit() else process_name


def replicas_of(run: PlatformRun, service: str) -> list[ServiceProcess]:
    return [p for name, p in run.services.items() if service_of(name) == service]


async def add_replica(run: PlatformRun, service: str) -> ServiceProcess:
    """One more replica of `service`, with the first one's settings and a port of its own."""
    first = run.services[service]
    process = ServiceProcess(name=f"{service}-{len(replicas_of(run, service))}", module=first.module,
                             port=free_port(), log_dir=first.log_dir, env=dict(first.env))
    process.env["HTTP_PORT"] = str(process.port)
    run.services[process.name] = process
    process.start()
    await process.wait_ready()
    return process


async def scale_to(run: PlatformRun, service: str, count: int) -> list[ServiceProcess]:
    """Starts or stops replicas of `service` (the newest first) until `count` run."""
    while len(replicas_of(run, service)) < count:
        await add_replica(run, service)
    while len(running := replicas_of(run, service)) > count:
        await asyncio.to_thread(running[-1].stop)
        del run.services[running[-1].name]
    return replicas_of(run, service)


async def stop_all_but(run: PlatformRun, keep: set[str], *, workers: bool) -> None:
    """Stops every service not in `keep` (and the workers unless `workers`): nothing downstream of the
    measured service works meanwhile; what it publishes waits in the broker."""
    stopping = [p for name, p in run.services.items() if service_of(name) not in keep]
    if not workers:
        stopping += list(run.workers.values())
    await asyncio.gather(*(asyncio.to_thread(p.stop) for p in stopping))


@contextlib.contextmanager
def held(processes: list[ServiceProcess]):
    """The processes paused while the block makes their backlog (their broker connections stay open),
    all resumed together when it ends, so every replica starts on the backlog at the same moment."""
    for process in processes:
        process.pause()
    try:
        yield
    finally:
        for process in processes:
            process.resume()
