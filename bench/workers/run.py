"""Worker fleet benchmark (`make bench-workers`): 1,000 simulated workers × 50 sessions heartbeating
every 10 s into one worker registry, beside a baseline measured in the same run.

- `fleet`: the registry (one process) and the fleet (one process: `wagw_worker_simulator.fleet`, one
  shared connection, a queue per worker) on a fresh vhost and database. After every worker is online
  and has beaten, heartbeats are measured for `--duration` seconds: heartbeat lag (the worker's send
  time to the registry's recording it, both in the worker's record, sampled every 2 s so every
  heartbeat is seen), and the CPU of the registry, the fleet, RabbitMQ and the MongoDB-compatible server.
- `broker-baseline`: the bare broker with the same message (a real 50-session heartbeat envelope):
  confirmed persistent publishes into a quorum queue consumed with acks (prefetch as the registry),
  first paced at the fleet's heartbeat rate (latency floor), then as fast as possible for the same
  count as the fleet run sent (throughput).
Results: bench/results/workers-<time>.json, and a table on stdout."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import aiohttp
from pymongo import AsyncMongoClient

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))  # suite/: the benchmarks' shared arithmetic and entry point

from harness.infra import MONGO_URI, create_vhost, delete_vhost, private_redis_url, queue_info, release_redis_url  # noqa: E402
from harness.processes import ServiceProcess, free_port  # noqa: E402
from suite.cancellable import run_cancellable  # noqa: E402
from suite.stats import latency_summary as summary  # noqa: E402
from suite.traffic import DbCommandCounts  # noqa: E402
from wagw_common import topology  # noqa: E402
from wagw_common.broker import Broker  # noqa: E402
from wagw_common.envelope import CONTENT_TYPE  # noqa: E402
from wagw_common.topology import QueueSpec  # noqa: E402
from wagw_worker_sdk.uplink import WorkerUplink  # noqa: E402

from cpu import CpuMeter, pid_listening_on  # noqa: E402  (beside this script)

RESULTS = REPO / "bench" / "results"


# ---- the fleet run --------------------------------------------------------------------------------

async def wait_for(probe, timeout: float, what: str, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await probe()
        if result:
            return result
        await asyncio.sleep(every)
    raise TimeoutError(f"not reached in {timeout:.0f} s: {what}")


async def registry_metrics(url: str) -> dict[str, float]:
    """Heartbeat handling so far, from the registry's /metrics: messages handled and seconds spent."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/metrics") as response:
            text = await response.text()
    found = {"count": 0.0, "seconds": 0.0}
    for line in text.splitlines():
        if 'queue="worker-registry.worker-uplink"' in line and line.startswith("wagw_broker_handler_duration_seconds"):
            if line.startswith("wagw_broker_handler_duration_seconds_count"):
                found["count"] = float(line.rsplit(" ", 1)[1])
            elif line.startswith("wagw_broker_handler_duration_seconds_sum"):
                found["seconds"] = float(line.rsplit(" ", 1)[1])
    return found


async def absorb_session_reports(vhost) -> None:
    """The orchestrator's part, reduced to taking the workers' session reports: without a queue bound to
    them they are unroutable (a worker reports the sessions it holds that the registry did not list)."""
    connection = await aio_pika.connect(vhost.amqp_url)
    try:
        channel = await connection.channel()
        sink = await channel.declare_queue("bench.session-reports", durable=True,
                                           arguments={"x-max-length": 0, "x-overflow": "drop-head"})
        await sink.bind(topology.WORKER_UPLINK, routing_key="worker.session.*")
    finally:
        await connection.close()


async def backlog(vhost) -> int:
    return (await queue_info(vhost, topology.REGISTRY_WORKER_UPLINK.name)).get("messages", 0)


async def fleet_run(args, vhost, log_dir: Path) -> dict:
    database, redis_url = f"wagw_bench_{uuid.uuid4().hex[:8]}", private_redis_url()
    registry = ServiceProcess(
        name="worker-registry", module="wagw_worker_registry", port=free_port(), log_dir=log_dir,
        env={"AMQP_URL": vhost.amqp_url, "MONGODB_URI": args.mongodb_uri, "MONGODB_DATABASE": database,
             "REDIS_URL": redis_url, "LOG_LEVEL": "warning", "STARTUP_TIMEOUT_SECONDS": "30"})
    registry.env["HTTP_PORT"] = str(registry.port)
    counts = DbCommandCounts()  # the registry's own commands (the bench's sampling reads are not counted)
    registry.env.update(counts.env())
    mongo = AsyncMongoClient(args.mongodb_uri, tz_aware=True)
    workers = mongo[database]["workers"]
    fleet = None
    try:
        registry.start()
        await registry.wait_ready()
        await absorb_session_reports(vhost)
        started = time.monotonic()
        fleet = subprocess.Popen(
            [sys.executable, "-m", "wagw_worker_simulator.fleet", "--amqp-url", vhost.amqp_url,
             "--workers", str(args.workers), "--sessions", str(args.sessions), "--capacity", str(args.sessions + 10),
             "--heartbeat", str(args.heartbeat), "--prefix", "bench", "--channels", str(args.channels)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=open(log_dir / "fleet.log", "ab"), text=True,
            start_new_session=True)
        line = await asyncio.to_thread(fleet.stdout.readline)
        fleet_started = json.loads(line)
        print(f"fleet: {fleet_started['workers']} workers started in {fleet_started['seconds']} s", flush=True)

        async def all_beating():
            query = {"state": "online", "beat.session_count": args.sessions}
            return await workers.count_documents(query) == args.workers
        await wait_for(all_beating, 300 + args.heartbeat, "every worker online with its sessions")

        async def caught_up():  # the start's burst (registrations, first beats) worked off
            waiting = await backlog(vhost)
            print(f"  registry queue: {waiting} messages waiting", flush=True)
            return waiting < max(10, args.workers // 20)
        try:
            await wait_for(caught_up, args.catch_up, "the registry's queue worked off", every=5)
            saturated = False
            await asyncio.sleep(args.heartbeat)  # and one whole round of heartbeats since
        except TimeoutError:
            saturated = True  # it cannot keep up: measured anyway, the lag then grows through the window
            print("fleet: the registry is not keeping up; measuring anyway", flush=True)
        warm_up = time.monotonic() - started
        print(f"fleet: all online and beating after {warm_up:.1f} s; measuring for {args.duration} s", flush=True)

        meters = {"registry": CpuMeter(registry.process.pid), "fleet": CpuMeter(fleet.pid),
                  "rabbitmq": CpuMeter(pid_listening_on(5672)),
                  "mongodb": CpuMeter(pid_listening_on(urlsplit(args.mongodb_uri).port or 27017))}
        handled_before = await registry_metrics(registry.url)
        commands_before = counts.by_kind()
        for meter in meters.values():
            meter.start()
        backlog_before = await backlog(vhost)
        seen: dict[str, datetime] = {}
        lags: list[float] = []
        deadline = time.monotonic() + args.duration
        while time.monotonic() < deadline:
            async for doc in workers.find({}, {"beat": 1, "last_heartbeat_at": 1}):
                sent = (doc.get("beat") or {}).get("sent_at")
                if sent is not None and seen.get(doc["_id"]) != sent:
                    if doc["_id"] in seen:  # the first look may date from the warm-up
                        lags.append((doc["last_heartbeat_at"] - sent).total_seconds())
                    seen[doc["_id"]] = sent
            await asyncio.sleep(2)
        cpu = {name: meter.stop() for name, meter in meters.items()}
        backlog_after = await backlog(vhost)
        handled_after = await registry_metrics(registry.url)
        handled = {k: handled_after[k] - handled_before[k] for k in handled_after}
        commands = {kind: n - commands_before.get(kind, 0) for kind, n in counts.by_kind().items()}
        per_handled = max(handled["count"], 1)
        states = {s: await workers.count_documents({"state": s}) for s in ("online", "draining", "offline")}
        offline_spells = await workers.count_documents({"recent_offline_at.0": {"$exists": True}})
        return {
            "workers": args.workers, "sessions_each": args.sessions, "heartbeat_interval_s": args.heartbeat,
            "fleet_start_s": fleet_started["seconds"], "warm_up_s": round(warm_up, 1),
            "mongodb_uri": args.mongodb_uri, "measured_s": args.duration, "heartbeats_measured": len(lags),
            "heartbeats_sent_per_s": round(args.workers / args.heartbeat, 1),
            "heartbeats_per_s": round(len(lags) / args.duration, 1), "saturated": saturated,
            "registry_queue_backlog": {"before": backlog_before, "after": backlog_after},
            "registry_handler_ms_mean": round(1000 * handled["seconds"] / per_handled, 2),
            # Per message the registry handled in the window (heartbeats, nearly all of them).
            "registry_db_commands_per_message": round(sum(commands.values()) / per_handled, 3),
            "registry_db_commands_by_kind_per_message": {
                kind: round(n / per_handled, 3) for kind, n in sorted(commands.items(), key=lambda kv: -kv[1]) if n},
            "heartbeat_lag": summary(lags), "cpu_percent_of_one_core": cpu,
            "registry_cpu_ms_per_heartbeat": round(cpu["registry"] * 10 * args.duration / max(len(lags), 1), 3),
            "workers_by_state_at_end": states, "workers_ever_offline": offline_spells,
        }
    finally:
        if fleet is not None and fleet.poll() is None:
            fleet.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(fleet.wait, 120)
            except subprocess.TimeoutExpired:
                fleet.kill()
        registry.stop()
        release_redis_url(redis_url)
        counts.remove()
        await mongo.drop_database(database)
        await mongo.close()


# ---- the bare broker --------------------------------------------------------------------------------

def heartbeat_body(sessions: int) -> bytes:
    uplink = WorkerUplink(None, "bench-00000")
    held = [{"session_id": f"s_bench-00000_{n:03d}", "status": "CONNECTED"} for n in range(sessions)]
    return uplink.envelope("worker.heartbeat", {"sessions": held, "cpu_percent": 0.5, "memory_mb": 0.4}).to_json()


async def broker_baseline(vhost, *, body: bytes, paced_rate: float, paced_count: int, count: int,
                          prefetch: int = 32) -> dict:
    broker = Broker(vhost.amqp_url, source="bench")
    await broker.connect(10)
    spec = QueueSpec("bench.baseline", ((topology.WORKER_UPLINK, "bench.baseline"),))
    consumer_channel = await broker.channel(prefetch)
    queue = await broker.declare_queue(spec, consumer_channel)
    exchange = await broker._channel.get_exchange(topology.WORKER_UPLINK, ensure=False)
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    expected = 0

    async def on_message(message) -> None:
        latencies.append(time.perf_counter() - sent_at.pop(message.message_id))
        await message.ack()
        if len(latencies) >= expected:
            done.set()

    await queue.consume(on_message)

    async def publish(n: int) -> None:
        message_id = uuid.uuid4().hex
        sent_at[message_id] = time.perf_counter()
        await exchange.publish(aio_pika.Message(body, content_type=CONTENT_TYPE, message_id=message_id,
                                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                               routing_key="bench.baseline", mandatory=True)

    async def phase(n: int, rate: float | None) -> dict:
        nonlocal expected
        latencies.clear()
        done.clear()
        expected = n
        started = time.perf_counter()
        if rate:
            tasks = []
            for i in range(n):
                tasks.append(asyncio.create_task(publish(i)))
                await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
            await asyncio.gather(*tasks)
        else:
            gate = asyncio.Semaphore(100)  # messages in flight, as a busy publisher would have

            async def one(i: int) -> None:
                async with gate:
                    await publish(i)
            await asyncio.gather(*(one(i) for i in range(n)))
        async with asyncio.timeout(120):
            await done.wait()
        elapsed = time.perf_counter() - started
        return {"messages": n, "seconds": round(elapsed, 2), "rate_per_s": round(n / elapsed, 1),
                "latency": summary(list(latencies))}

    try:
        paced = await phase(paced_count, paced_rate)
        blast = await phase(count, None)
    finally:
        await broker.close()
    return {"message_bytes": len(body), "paced_at_heartbeat_rate": paced, "as_fast_as_possible": blast}


# ---- report -------------------------------------------------------------------------------------------

def table(result: dict) -> str:
    fleet, base = result["fleet"], result["broker_baseline"]
    lag, paced, blast = fleet["heartbeat_lag"], base["paced_at_heartbeat_rate"], base["as_fast_as_possible"]
    cpu = fleet["cpu_percent_of_one_core"]
    rows = [
        ("", "p50 ms", "p99 ms", "max ms", "rate /s", "count"),
        ("heartbeat lag (worker -> registry record)", lag.get("p50_ms"), lag.get("p99_ms"), lag.get("max_ms"),
         fleet["heartbeats_per_s"], lag["count"]),
        ("baseline: bare broker, paced at that rate", paced["latency"]["p50_ms"], paced["latency"]["p99_ms"],
         paced["latency"]["max_ms"], paced["rate_per_s"], paced["messages"]),
        ("baseline: bare broker, as fast as possible", blast["latency"]["p50_ms"], blast["latency"]["p99_ms"],
         blast["latency"]["max_ms"], blast["rate_per_s"], blast["messages"]),
    ]
    out = [f"{r[0]:<45}" + "".join(f"{str(v):>10}" for v in r[1:]) for r in rows]
    out.append("")
    out.append("CPU, % of one core over the measured window: " + ", ".join(f"{k} {v}" for k, v in cpu.items()))
    if fleet["saturated"]:
        out.append(f"NOT KEEPING UP: {fleet['heartbeats_sent_per_s']} heartbeats/s sent, {fleet['heartbeats_per_s']}/s "
                   f"recorded; registry queue {fleet['registry_queue_backlog']['before']} -> "
                   f"{fleet['registry_queue_backlog']['after']} messages")
    out.append(f"registry: {fleet['registry_cpu_ms_per_heartbeat']} ms CPU and {fleet['registry_handler_ms_mean']} ms "
               f"handling per heartbeat; workers online at the end: "
               f"{fleet['workers_by_state_at_end']['online']}/{fleet['workers']}, ever offline: "
               f"{fleet['workers_ever_offline']}; message: {base['message_bytes']} bytes")
    return "\n".join(out)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--heartbeat", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured once every worker beats")
    parser.add_argument("--channels", type=int, default=8, help="channels the fleet's workers share (each way)")
    parser.add_argument("--catch-up", type=float, default=180.0,
                        help="seconds to wait for the registry to work off the start's burst before measuring")
    parser.add_argument("--mongodb-uri", default=MONGO_URI, help="the MongoDB(-compatible) server the registry uses")
    args = parser.parse_args()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    log_dir = RESULTS / "logs" / f"workers-{stamp}"
    vhost = await create_vhost("wagw-bench-workers")
    try:
        fleet = await fleet_run(args, vhost, log_dir)
        rate = args.workers / args.heartbeat
        base = await broker_baseline(vhost, body=heartbeat_body(args.sessions), paced_rate=rate,
                                     paced_count=int(min(rate * 15, fleet["heartbeats_measured"] or rate)),
                                     count=max(fleet["heartbeats_measured"], 1000))
    finally:
        await delete_vhost(vhost)
    result = {"benchmark": "worker-fleet", "at": stamp, "machine": {"cpus": os.cpu_count()},
              "fleet": fleet, "broker_baseline": base}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"workers-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\nwritten to {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    # SIGTERM or SIGINT cancels the run, so the registry, the fleet, the vhost and the database are cleaned up.
    run_cancellable(main)
