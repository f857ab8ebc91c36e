"""Part 7, scaling: each service's own ceiling with one replica, then with two, the rest of the pipeline
stopped so the measured service is the only one working (what it publishes waits in the broker).

  gateway               64 closed-loop clients for a while: accepted sends/s
  session-orchestrator  a backlog of sends (accepted by the gateway while the orchestrator was held),
                        each stored, handed to the simulated worker and its three receipts applied
  webhook-dispatcher    a backlog of message events, each delivered to a few endpoints on a local sink

Each round holds (SIGSTOP) every replica while its backlog is made, then lets them go at once and
measures until the backlog is worked off; the baseline of the round at two replicas is the round at
one, in the same platform, just before."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from .accepted import BODY
from .cpu_window import CpuWindow
from .loadgen import closed_loop
from .replica_control import add_replica, held, replicas_of, stop_all_but
from .scaling_backlogs import drained, finished_in_database, finished_sends, post_sends, publish_events
from .scaling_figures import compare, round_figures
from .timed_sink import TimedSink
from .world import platform, tenant_with_sessions

GATEWAY, ORCHESTRATOR, DISPATCHER = "gateway", "session-orchestrator", "webhook-dispatcher"


def _pids(run) -> dict[str, int]:
    """Every platform process still running, and the bench's own (load generator, sink): any of them may
    be what bounds a round."""
    running = {**run.services, **run.workers}
    return {**{name: p.process.pid for name, p in running.items() if p.alive}, "bench": os.getpid()}


async def gateway_rounds(args) -> dict:
    async with platform("wagw-bench-scaling-gw", log_level=args.log_level) as run:
        async with aiohttp.ClientSession() as http:
            tenant = await tenant_with_sessions(run, http, 1)
        (key,) = tenant.keys.values()
        await stop_all_but(run, {GATEWAY}, workers=False)
        rounds = []
        for replicas in (1, 2):
            if replicas == 2:
                await add_replica(run, GATEWAY)
            urls = [p.url + "/api/v1/send" for p in replicas_of(run, GATEWAY)]
            with CpuWindow(_pids(run)) as cpu:
                result = await closed_loop(urls, clients=args.clients, seconds=args.scaling_seconds, body=BODY,
                                           headers={"X-API-Key": key})
            rounds.append({**round_figures(GATEWAY, replicas, result["accepted"], args.scaling_seconds, cpu.result,
                                                         cpu.waiting),
                           "latency": result["latency"], "statuses": result["statuses"]})
        return compare(*rounds)


async def orchestrator_rounds(args) -> dict:
    async with platform("wagw-bench-scaling-orch", log_level=args.log_level) as run:
        async with aiohttp.ClientSession() as http:
            tenant = await tenant_with_sessions(run, http, args.scaling_sessions)
        # The gateway makes the backlog and the worker and its registry answer the orchestrator; the
        # dispatcher and realtime, downstream of its events, are stopped.
        await stop_all_but(run, {GATEWAY, ORCHESTRATOR, "worker-registry"}, workers=True)
        rounds = []
        async with finished_sends(run) as count:
            for replicas in (1, 2):
                if replicas == 2:
                    await add_replica(run, ORCHESTRATOR)
                before = await count()
                with held(replicas_of(run, ORCHESTRATOR)):
                    refused = await post_sends(run.services[GATEWAY].url, tenant, args.scaling_sends)
                with CpuWindow(_pids(run)) as cpu:
                    done, seconds = await drained(count, before + args.scaling_sends, args.scaling_timeout)
                await drained(count, before + args.scaling_sends, args.scaling_timeout)  # none left for the next
                stored = await asyncio.to_thread(finished_in_database, run)
                rounds.append({**round_figures(ORCHESTRATOR, replicas, done - before, seconds, cpu.result,
                                               cpu.waiting),
                               "backlog": args.scaling_sends, "refused_while_filling": refused,
                               "finished_in_database_by_now": stored})
        return compare(*rounds)


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
            rounds = []
            for replicas in (1, 2):
                if replicas == 2:
                    await add_replica(run, DISPATCHER)
                before = len(sink.arrivals)
                with held(replicas_of(run, DISPATCHER)):
                    await publish_events(run, tenant, events)

                async def arrived() -> int:
                    return len(sink.arrivals)

                expected = before + events * args.scaling_endpoints
                with CpuWindow(_pids(run)) as cpu:
                    done, seconds = await drained(arrived, expected, args.scaling_timeout)
                await drained(arrived, expected, args.scaling_timeout)  # none left for the next round
                rounds.append({**round_figures(DISPATCHER, replicas, done - before, seconds, cpu.result,
                                               cpu.waiting),
                               "events": events, "endpoints": args.scaling_endpoints,
                               "duplicates": sink.duplicates})
            return compare(*rounds)
    finally:
        await sink.stop()


async def run(args, log_dir: Path) -> dict:
    return {"services": {GATEWAY: await gateway_rounds(args), ORCHESTRATOR: await orchestrator_rounds(args),
                         DISPATCHER: await dispatcher_rounds(args)}}
