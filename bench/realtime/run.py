"""Realtime push benchmark (`make bench-realtime`): event-to-client latency for a burst of session events
delivered to 1,000 Socket.IO clients, beside a baseline measured in the same run.

Scenarios, each with the same clients, rooms and burst (in one run, so on the same machine state):
- `bare-socketio`: a bare python-socketio server emitting the burst itself (no broker): the floor;
- `broker-only`: the same burst through RabbitMQ alone (confirmed publish -> quorum queue -> one
  consumer), no Socket.IO: the broker's share;
- `realtime-1`: the realtime service, one replica: the events are published to `wagw.events` (with
  publisher confirms) and travel broker -> replica -> Socket.IO;
- `realtime-2`: two replicas, clients spread across both; each replica consumes every event on a queue
  of its own and pushes it to its own clients;
- `realtime-1-paced` (`realtime-2-paced`): the same, the burst published as the bare server emits it,
  each event once the one before is out (one publish awaiting its confirm at a time).
Latency is measured from just before an event is published (or emitted, for the baseline) to its
arrival in a client, on this machine's clock; CPU per event over the burst, per process. The broker
scenarios keep `--in-flight` publishes (100) awaiting their confirm: an event's time then includes its
wait behind the events ahead of it, in the broker and in the replica, which the bare server's time
(taken when it emits, once the events before are out) never does. The results go to
bench/results/realtime-<time>.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench" / "workers"))

from cpu import cpu_seconds, pid_listening_on  # noqa: E402
from harness.infra import RABBIT_PORT, create_vhost, delete_vhost, private_redis_url, release_redis_url  # noqa: E402
from harness.processes import ServiceProcess, free_port  # noqa: E402
from wagw_common import topology  # noqa: E402
from wagw_common.broker import Broker  # noqa: E402
from wagw_common.consumer import Consumer, Subscription  # noqa: E402
from wagw_common.logging import configure_logging  # noqa: E402
from wagw_common.router import Router  # noqa: E402
from wagw_common.settings import load  # noqa: E402
from wagw_common.tokens import Principal, issue_access_token  # noqa: E402
from wagw_realtime.settings import Settings  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = REPO / "bench" / "results"
SECRET = "bench-secret-" + "x" * 32
DEFAULTS = load(Settings, {})
IN_FLIGHT = 100  # the burst's publishes awaiting their confirm at once (--in-flight)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(latencies: list[float]) -> dict:
    if not latencies:
        return {}
    ms = [v * 1000 for v in latencies]
    return {"p50_ms": round(percentile(ms, 50), 2), "p90_ms": round(percentile(ms, 90), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(max(ms), 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


def tokens_for(users: int, clients: int) -> list[str]:
    return [issue_access_token(Principal(f"u_bench{i % users}", "user", "BASIC"), secret=SECRET,
                               issuer=DEFAULTS.jwt_issuer, audience=DEFAULTS.jwt_audience, ttl=timedelta(hours=1))
            for i in range(clients)]


def burst_events(users: int, per_user: int) -> list[dict]:
    return [{"tenant_id": f"u_bench{u}", "session_id": f"s_bench{u}", "sequence": n}
            for n in range(1, per_user + 1) for u in range(users)]


async def start_clients(urls: list[str], tokens: list[str], processes: int, expected: int, workdir: Path):
    procs = []
    for p in range(processes):
        path = workdir / f"tokens-{p}.txt"
        path.write_text("\n".join(tokens[p::processes]))
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, str(HERE / "clients.py"), "--urls", ",".join(urls), "--tokens", str(path),
            "--expected", str(expected), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE))
    ready = [json.loads(await proc.stdout.readline()) for proc in procs]
    return procs, ready


async def collect(procs, timeout: float) -> dict:
    for proc in procs:
        proc.stdin.write(f"collect {timeout}\n".encode())
        await proc.stdin.drain()
    results = [json.loads(await proc.stdout.readline()) for proc in procs]
    await asyncio.gather(*(proc.wait() for proc in procs))
    latencies = [v for r in results for v in r["latencies"]]
    return {"deliveries": len(latencies), "duplicates": sum(r["duplicates"] for r in results),
            "missing": sum(r["missing"] for r in results), **summary(latencies)}


async def push_lag(urls: list[str]) -> dict:
    """From the replicas' own metrics: mean time from an event's creation to its emission by the replica
    that consumed it (the broker's share of the latency; the rest is Socket.IO and the relay)."""
    total = count = 0.0
    async with aiohttp.ClientSession() as http:
        for url in urls:
            async with http.get(url + "/metrics") as response:
                for line in (await response.text()).splitlines():
                    if line.startswith("wagw_realtime_push_lag_seconds_sum"):
                        total += float(line.split()[-1])
                    elif line.startswith("wagw_realtime_push_lag_seconds_count"):
                        count += float(line.split()[-1])
    return {"replica_push_lag_mean_ms": round(total / count * 1000, 2)} if count else {}


class BurstCpu:
    """CPU milliseconds per event, from the burst's first publish to its last delivery, of the server
    processes (`pids`, summed) and of RabbitMQ: counted per process, so far steadier than latencies on
    a shared machine."""

    def __init__(self, pids: list[int], events: int):
        self.pids, self.events = pids, events
        self.broker = pid_listening_on(RABBIT_PORT)

    def __enter__(self) -> "BurstCpu":
        self.start = self._now()
        return self

    def __exit__(self, *exc) -> None:
        self.end = self._now()

    def _now(self) -> tuple[float, float | None]:
        return (sum(cpu_seconds(pid) for pid in self.pids),
                cpu_seconds(self.broker) if self.broker else None)

    def result(self) -> dict:
        (servers, broker), (servers_then, broker_then) = self.end, self.start
        per_event = {"server_cpu_ms_per_event": round((servers - servers_then) * 1000 / self.events, 3)}
        if broker is not None and broker_then is not None:
            per_event["rabbitmq_cpu_ms_per_event"] = round((broker - broker_then) * 1000 / self.events, 3)
        return per_event


async def run_scenario(name: str, urls: list[str], send_burst, args, workdir: Path, metrics: bool = False,
                       pids: list[int] = ()) -> dict:
    tokens = tokens_for(args.users, args.clients)
    procs, ready = await start_clients(urls, tokens, args.client_processes, args.events_per_user, workdir)
    connected = sum(r["ready"] for r in ready)
    await asyncio.sleep(1.0)  # let the last room joins settle
    events = burst_events(args.users, args.events_per_user)
    with BurstCpu(list(pids), len(events)) as cpu:
        started = time.perf_counter()
        await send_burst(events)
        send_seconds = time.perf_counter() - started
        result = await collect(procs, timeout=60)
    result.update(cpu.result())
    if metrics:
        result.update(await push_lag(urls))
    result.update(scenario=name, clients=connected, refused=sum(r["refused"] for r in ready),
                  connect_seconds=max(r["connect_seconds"] for r in ready), send_seconds=round(send_seconds, 3),
                  events=args.users * args.events_per_user)
    print(f"{name:>16}: {result}", flush=True)
    return result


_TAKEN: set[int] = set()


def service(name: str, module: str, env: dict, log_dir: Path) -> ServiceProcess:
    port = free_port()
    while port in _TAKEN:  # two calls in a row may be offered the same free port
        port = free_port()
    _TAKEN.add(port)
    process = ServiceProcess(name=name, module=module, port=port, env=dict(env), log_dir=log_dir)
    process.env["HTTP_PORT"] = str(process.port)
    return process


async def bare_scenario(args, workdir: Path, log_dir: Path) -> dict:
    pythonpath = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    server = service("bare-socketio", "bare_server", {"PYTHONPATH": pythonpath, "JWT_SECRET": SECRET}, log_dir)
    server.start()
    try:
        await server.wait_ready()

        async def send(events):
            async with aiohttp.ClientSession() as http:
                async with http.post(server.url + "/burst", json={"events": events}) as response:
                    response.raise_for_status()

        return await run_scenario("bare-socketio", [server.url], send, args, workdir, pids=[server.process.pid])
    finally:
        server.stop()


async def gateway_stand_in(broker: Broker) -> Consumer:
    """The gateway's answer to `account.standing`, asked at each token connect: every bench account stands.
    Declared through a router, as the gateway declares it, so the queue is bound to what it answers."""
    async def standing(envelope, _deps):
        return {"user_id": envelope.data["user_id"], "active": True, "token_generation": 0}

    queries = Router("gateway").queue(topology.GATEWAY_QUERIES, inbox=False)
    queries.on("account.standing", standing)
    consumer = Consumer(broker, queries.subscription(None), prefetch=64, max_attempts=3)
    await consumer.start()
    return consumer


async def named_scenario(name: str, args, workdir: Path, log_dir: Path) -> dict:
    """`bare-socketio`, `broker-only`, `realtime-<replicas>`, or `realtime-<replicas>-paced`: the realtime
    service sent the burst as the bare server emits it, each event once the one before is out (one publish
    awaiting its confirm at a time), which makes its latency comparable with the bare server's."""
    if name == "bare-socketio":
        return await bare_scenario(args, workdir, log_dir)
    if name == "broker-only":
        return await broker_scenario(args)
    family, replicas, *paced = name.split("-")
    if family != "realtime" or not replicas.isdigit() or paced not in ([], ["paced"]):
        raise ValueError(f"unknown scenario {name!r}")
    if paced:
        args = argparse.Namespace(**{**vars(args), "in_flight": 1})
    return await realtime_scenario(int(replicas), args, workdir, log_dir, name=name)


async def realtime_scenario(replicas: int, args, workdir: Path, log_dir: Path, name: str | None = None) -> dict:
    vhost = await create_vhost("wagw-bench")
    redis_url = private_redis_url()
    env = {"AMQP_URL": vhost.amqp_url, "REDIS_URL": redis_url, "JWT_SECRET": SECRET,
           "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning"),
           "REALTIME_MAX_CONNECTIONS_PER_USER": "1000"}
    module = os.environ.get("BENCH_REALTIME_MODULE", "wagw_realtime")  # e.g. a profiling wrapper
    servers = [service(f"realtime-{replicas}-{n}", module, env, log_dir) for n in range(replicas)]
    broker = Broker(vhost.amqp_url, source="bench")
    gateway = None
    try:
        for server in servers:
            server.start()
        await asyncio.gather(*(s.wait_ready() for s in servers))
        await broker.connect(10)
        gateway = await gateway_stand_in(broker)
        gate = asyncio.Semaphore(args.in_flight)

        async def publish(event):
            async with gate:
                await broker.publish_event("session.status_changed", {
                    **event, "previous": "QR_REQUIRED", "status": "CONNECTED", "worker_id": "bench",
                    "reason": f"{time.time():.6f}"})

        async def send(events):
            await asyncio.gather(*(publish(e) for e in events))

        result = await run_scenario(name or f"realtime-{replicas}", [s.url for s in servers], send, args, workdir,
                                    metrics=True, pids=[s.process.pid for s in servers])
        return {**result, "in_flight": args.in_flight}
    finally:
        if gateway is not None:
            await gateway.stop()
        await broker.close()
        for server in servers:
            server.stop()
        release_redis_url(redis_url)
        await delete_vhost(vhost)


async def broker_scenario(args) -> dict:
    """The broker's share alone: the same burst published to `wagw.events` (confirmed, into a quorum queue
    like realtime's) and consumed by one plain consumer, no Socket.IO at all."""
    vhost = await create_vhost("wagw-bench")
    publisher, subscriber = Broker(vhost.amqp_url, source="bench"), Broker(vhost.amqp_url, source="bench-consumer")
    latencies: list[float] = []

    async def received(envelope):
        latencies.append(time.time() - float(envelope.data["reason"]))

    events = burst_events(args.users, args.events_per_user)
    try:
        await publisher.connect(10)
        await subscriber.connect(10)
        queue = topology.QueueSpec("bench.events", ((topology.EVENTS, "session.status_changed"),))
        consumer = Consumer(subscriber, Subscription(queue, {"session.status_changed": received}, use_inbox=False),
                            prefetch=DEFAULTS.prefetch, max_attempts=3)
        await consumer.start()
        gate = asyncio.Semaphore(args.in_flight)

        async def publish(event):
            async with gate:
                await publisher.publish_event("session.status_changed", {
                    **event, "previous": "QR_REQUIRED", "status": "CONNECTED", "worker_id": "bench",
                    "reason": f"{time.time():.6f}"})

        with BurstCpu([os.getpid()], len(events)) as cpu:  # the publisher and the consumer, in this process
            started = time.perf_counter()
            await asyncio.gather(*(publish(e) for e in events))
            send_seconds = time.perf_counter() - started
            deadline = time.monotonic() + 60
            while len(latencies) < len(events) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        await consumer.stop()
    finally:
        await publisher.close()
        await subscriber.close()
        await delete_vhost(vhost)
    result = {"scenario": "broker-only", "in_flight": args.in_flight, "clients": 0, "refused": 0, "events": len(events),
              "deliveries": len(latencies), "duplicates": 0, "missing": len(events) - len(latencies),
              "send_seconds": round(send_seconds, 3), **summary(latencies), **cpu.result()}
    print(f"{'broker-only':>16}: {result}", flush=True)
    return result


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--users", type=int, default=500, help="clients are spread evenly over these users")
    parser.add_argument("--events-per-user", type=int, default=2, help="the burst: this many events per user")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--scenarios", default="bare-socketio,broker-only,realtime-1,realtime-1-paced,realtime-2")
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT,
                        help="broker scenarios: publishes awaiting their confirm at once")
    args = parser.parse_args()
    configure_logging("bench", "warning")
    stamp = time.strftime("%Y%m%dT%H%M%S")
    log_dir = RESULTS / "logs" / stamp
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenarios.split(","):
            results.append(await named_scenario(name, args, Path(tmp), log_dir))
    report = {"benchmark": "realtime-push", "at": stamp, "cpus": os.cpu_count(),
              "parameters": {"clients": args.clients, "users": args.users, "events_per_user": args.events_per_user,
                             "client_processes": args.client_processes, "in_flight": args.in_flight,
                             "transport": "websocket"},
              "scenarios": results}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"realtime-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\n{'scenario':>16} {'clients':>7} {'events':>6} {'deliveries':>10} {'dup':>4} {'miss':>5} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for r in results:
        print(f"{r['scenario']:>16} {r['clients']:>7} {r['events']:>6} {r['deliveries']:>10} {r['duplicates']:>4} "
              f"{r['missing']:>5} {r.get('p50_ms', '-'):>8} {r.get('p99_ms', '-'):>8} {r.get('max_ms', '-'):>8}")
    print(f"\nwritten to {path.relative_to(REPO)}")
    return 0 if all(r["missing"] == 0 and r["duplicates"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
