"""Part 7, scaling: each service's own ceiling with one replica, then with two, then with one again, the
rest of the pipeline stopped so the measured service is the only one working (what it publishes waits
in the broker).

  gateway               64 closed-loop clients for a while: accepted sends/s
  session-orchestrator  a backlog of sends (accepted by the gateway while the orchestrator was held),
                        each stored, handed to the simulated worker and its receipts applied
  webhook-dispatcher    a backlog of message events, each delivered to a few endpoints on a local sink

A backlog round holds (SIGSTOP) every replica while its backlog is made, then lets them go at once and
measures until the backlog is worked off. The baseline of the round at two replicas is the mean of the
rounds at one before and after it, in the same platform."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Awaitable, Callable

import aiohttp

from .accepted import BODY
from .cpu_window import CpuWindow
from .loadgen import closed_loop
from .replica_control import held, scale_to, stop_all_but
from .scaling_backlogs import drained, finished_in_database, finished_sends, post_sends, publish_events
from .scaling_figures import compare, round_figures
from .service_metrics import platform_handler_times
from .timed_sink import TimedSink
from .world import platform, tenant_with_sessions

GATEWAY, ORCHESTRATOR, DISPATCHER = "gateway", "session-orchestrator", "webhook-dispatcher"
REPLICAS_BY_ROUND = (1, 2, 1)


def _pids(run) -> dict[str, int]:
    """Every platform process still running, and the bench's own (load generator, sink): any of them may
    be what bounds a round."""
    running = {**run.services, **run.workers}
    return {**{name: p.process.pid for name, p in running.items() if p.alive}, "bench": os.getpid()}


async def each_scale(run, service: str, measure: Callable[[list], Awaitable[dict]]) -> dict:
    """`measure(replicas)` at one replica, two, and one again; the round at two beside the rounds at one."""
    rounds = [await measure(await scale_to(run, service, count)) for count in REPLICAS_BY_ROUND]
    return compare(*rounds)


async def backlog_round(run, service: str, replicas: list, fill: Callable[[], Awaitable[dict]],
                        count: Callable[[], Awaitable[int]], items: int, timeout: float) -> dict:
    """Every replica held while `fill()` makes a backlog of `items`, then measured until `count()` says
    it was worked off."""
    before = await count()
    with held(replicas):
        filled = await fill()
    with CpuWindow(_pids(run)) as cpu:
        done, seconds = await drained(count, before + items, timeout)
    await drained(count, before + items, timeout)  # whatever is left must not fall into the next round
    return {**round_figures(service, len(replicas), done - before, seconds, cpu.result, cpu.waiting),
            "backlog": items, **filled}


async def gateway_rounds(args) -> dict:
    async with platform("wagw-bench-scaling-gw", log_level=args.log_level) as run:
        async with aiohttp.ClientSession() as http:
            tenant = await tenant_with_sessions(run, http, 1)
        (key,) = tenant.keys.values()
        await stop_all_but(run, {GATEWAY}, workers=False)

        async def measure(replicas: list) -> dict:
            with CpuWindow(_pids(run)) as cpu:
                result = await closed_loop([p.url + "/api/v1/send" for p in replicas], clients=args.clients,
                                           seconds=args.scaling_seconds, body=BODY, headers={"X-API-Key": key})
            return {**round_figures(GATEWAY, len(replicas), result["accepted"], args.scaling_seconds,
                                    cpu.result, cpu.waiting),
                    "latency": result["latency"], "statuses": result["statuses"]}

        return await each_scale(run, GATEWAY, measure)


async def orchestrator_rounds(args) -> dict:
    # Receipts at once: the simulator's pause between a message's receipts would bound the round by
    # itself (each session's next send waits for them), not the orchestrator.
    async with platform("wagw-bench-scaling-orch", log_level=args.log_level,
                        worker_env={"SIMULATOR_STATUS_DELAY_SECONDS": "0"}) as run:
        async with aiohttp.ClientSession() as http:
            tenant = await tenant_with_sessions(run, http, args.scaling_sessions)
        # The gateway makes the backlog and the worker and its registry answer the orchestrator; the
        # dispatcher and realtime, downstream of its events, are stopped.
        await stop_all_but(run, {GATEWAY, ORCHESTRATOR, "worker-registry"}, workers=True)
        async with finished_sends(run) as count:

            async def fill() -> dict:
                return {"refused_while_filling": await post_sends(run.services[GATEWAY].url, tenant,
                                                                  args.scaling_sends)}

            async def measure(replicas: list) -> dict:
                measured = await backlog_round(run, ORCHESTRATOR, replicas, fill, count, args.scaling_sends,
                                               args.scaling_timeout)
                # Which replica handled which queue (counted since each started): a shard has one
                # active consumer, so the replica that subscribed first takes every shard.
                handled = await platform_handler_times(run)
                return {**measured, "finished_in_database_by_now": await asyncio.to_thread(finished_in_database, run),
                        "handled_by_replica": {p.name: handled.get(p.name, {}) for p in replicas}}

            return await each_scale(run, ORCHESTRATOR, measure)


async def dispatcher_rounds(args) -> dict:
    sink = TimedSink()
    await sink.start()
    try:
        async with platform("wagw-bench-scaling-hooks", log_level=args.log_level) as run:
            async with aiohttp.ClientSession() as http:
                tenant = await tenant_with_sessions(run, http, 1)
                for n in range(args.scaling_endpoints):  # one sink, told apart by the query
                    await tenant.api.request("POST", "/webhooks", token=tenant.customer.token,
                                             json={"url": f"{sink.url}?e={n}", "events": ["message.sent"]},
                                             expect=201)
            await stop_all_but(run, {DISPATCHER}, workers=False)
            events = max(1, args.scaling_deliveries // args.scaling_endpoints)

            async def fill() -> dict:
                await publish_events(run, tenant, events)
                return {"events": events, "endpoints": args.scaling_endpoints}

            async def arrived() -> int:
                return len(sink.arrivals)

            async def measure(replicas: list) -> dict:
                measured = await backlog_round(run, DISPATCHER, replicas, fill, arrived,
                                               events * args.scaling_endpoints, args.scaling_timeout)
                return {**measured, "duplicates_so_far": sink.duplicates}

            return await each_scale(run, DISPATCHER, measure)
    finally:
        await sink.stop()


async def run(args, log_dir: Path) -> dict:
    return {"services": {GATEWAY: await gateway_rounds(args), ORCHESTRATOR: await orchestrator_rounds(args),
                         DISPATCHER: await dispatcher_rounds(args)}}
