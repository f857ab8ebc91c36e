"""Part 1, accepted sends: `POST /api/v1/send` from many concurrent clients for a while (throughput and
latency of the 202s), beside the baseline: a bare aiohttp handler doing only a confirmed persistent
publish to the same broker, run as its own process and loaded the same way, just before."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp
from harness.infra import create_vhost, delete_vhost
from harness.processes import ServiceProcess, free_port

from .cpu_window import CpuWindow
from .loadgen import closed_loop
from .sampling import start_sampling
from .stats import cpu_per_item, ratio
from .world import platform, tenant_with_sessions

HERE = Path(__file__).resolve().parent
BODY = lambda n: {"to": "+628123456789", "text": f"bench message {n}"}  # noqa: E731


async def bare_publish_baseline(args, log_dir: Path) -> dict:
    vhost = await create_vhost("wagw-bench-bare")
    pythonpath = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    server = ServiceProcess(name="bare-publish", module="bare_publish", port=free_port(), log_dir=log_dir,
                            env={"AMQP_URL": vhost.amqp_url, "PYTHONPATH": pythonpath})
    server.env["HTTP_PORT"] = str(server.port)
    server.start()
    try:
        await server.wait_ready()
        with CpuWindow({"server": server.process.pid}) as cpu:
            result = await closed_loop(server.url + "/send", clients=args.clients, seconds=args.send_seconds, body=BODY)
        return {**result, "cpu_percent_of_one_core": cpu.result,
                "cpu_per_send": cpu_per_item(cpu.result, result["rate_per_s"])}
    finally:
        server.stop()
        await delete_vhost(vhost)


async def gateway_sends(args, log_dir: Path) -> dict:
    async with platform("wagw-bench-sends", log_level=args.log_level, replicas=args.replicas) as run:
        async with aiohttp.ClientSession() as http:
            tenant = await tenant_with_sessions(run, http, 1)
        (session_id, key), = tenant.keys.items()
        pids = {name: p.process.pid for name, p in {**run.services, **run.workers}.items()}
        profile = args.profile_gateway and start_sampling(run.services["gateway"].process.pid, "gateway-send",
                                                          log_dir, args.send_seconds)
        with CpuWindow(pids) as cpu:
            gateways = [run.url("gateway") + "/api/v1/send" for _ in range(run.replicas)]  # each replica in turn
            result = await closed_loop(gateways, clients=args.clients,
                                       seconds=args.send_seconds, body=BODY, headers={"X-API-Key": key})
        if profile:
            profile.wait()
        # The gateway's own share per send, and the whole platform's (it works off the accepted sends
        # meanwhile: every message is stored, sent, reported and pushed while the load goes on).
        return {**result, "cpu_percent_of_one_core": cpu.result,
                "cpu_per_send": cpu_per_item(cpu.result, result["rate_per_s"])}


async def run(args, log_dir: Path) -> dict:
    baseline = await bare_publish_baseline(args, log_dir)
    gateway = await gateway_sends(args, log_dir)
    throughput = ratio(gateway["rate_per_s"], baseline["rate_per_s"])
    p99 = ratio(gateway["latency"].get("p99_ms"), baseline["latency"].get("p99_ms"))
    return {"gateway": gateway, "baseline_bare_publish": baseline,
            "throughput_vs_baseline": throughput, "p99_vs_baseline": p99,
            "goal": {"throughput_vs_baseline_min": 0.5, "p99_vs_baseline_max": 2.0,
                     "met": throughput is not None and p99 is not None and throughput >= 0.5 and p99 <= 2.0}}
