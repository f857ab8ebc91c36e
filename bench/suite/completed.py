"""Part 2, completed sends: messages sent for a while by a closed loop of senders, each waiting for its
message to complete before sending the next; a message counts only once its `message.sent` webhook
reached a local sink AND the session's history shows it sent (or further). Beside the bare broker's
persistent publish -> consume rate, measured in the same run just before the platform starts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from harness.api import GatewayClient

from .broker_rate import publish_consume
from .cpu_window import CpuWindow
from .goals import COMPLETED_MIN_PER_S
from .sampling import sample_all
from .service_metrics import platform_handler_times
from .stats import cpu_per_item, latency_summary, rate, ratio
from .timed_sink import TimedSink
from .traffic import DbCommandCounts, TrafficWindow
from .world import platform, tenant_with_sessions

DONE = {"sent", "delivered", "read"}


async def history(api: GatewayClient, token: str, session_id: str) -> dict[str, str]:
    """message id -> status, every page of a session's history."""
    found, cursor = {}, None
    while True:
        query = {"limit": "200", **({"before": cursor} if cursor else {})}
        status, page, _ = await api.request("GET", f"/sessions/{session_id}/messages", token=token, params=query)
        if status == 503:  # busy: ask again
            await asyncio.sleep(0.5)
            continue
        assert status == 200, page
        found.update({m["message_id"]: m["status"] for m in page["messages"]})
        cursor = page["next_cursor"]
        if not cursor:
            return found


async def sustained_sends(args, log_dir: Path) -> dict:
    counts = DbCommandCounts()
    async with platform("wagw-bench-completed", log_level=args.log_level, replicas=args.replicas,
                        every_process_env=counts.env()) as run:
        sink = TimedSink()
        await sink.start()
        try:
            async with aiohttp.ClientSession() as http:
                tenant = await tenant_with_sessions(run, http, args.completed_sessions)
                api, token = tenant.api, tenant.customer.token
                await api.request("POST", "/webhooks", token=token, json={"url": sink.url, "events": ["message.sent"]},
                                  expect=201)
                accepted: dict[str, tuple[str, float]] = {}  # message id -> (session id, send start)
                refused: dict[int, int] = {}
                sessions = list(tenant.keys)
                gateways = [GatewayClient(run.url("gateway"), http) for _ in range(run.replicas)]  # each in turn

                async def sender(i: int) -> None:
                    session_id = sessions[i % len(sessions)]
                    while time.perf_counter() < stop_at:
                        sent = time.perf_counter()
                        status, body, _ = await gateways[i % len(gateways)].request(
                            "POST", "/send", api_key=tenant.keys[session_id],
                            json={"to": "+628123456789", "text": f"bench {i}"})
                        if status != 202:
                            refused[status] = refused.get(status, 0) + 1
                            await asyncio.sleep(0.1)
                            continue
                        accepted[body["message_id"]] = (session_id, sent)
                        try:
                            async with asyncio.timeout(args.completion_timeout):
                                await sink.arrival(body["message_id"])
                        except asyncio.TimeoutError:
                            pass  # counted by the audit below

                pids = {name: p.process.pid for name, p in {**run.services, **run.workers}.items()}
                traffic = TrafficWindow(counts, run.vhost)
                await traffic.start()
                stop_at = time.perf_counter() + args.completed_seconds
                samplers = sample_all(pids, log_dir, args.completed_seconds) if args.profile_completed else []
                with CpuWindow(pids) as cpu:
                    await asyncio.gather(*(sender(i) for i in range(args.in_flight)))
                for sampler in samplers:
                    await asyncio.to_thread(sampler.wait)
                sending_ended = time.perf_counter()
                # Whatever is still on its way gets a while to arrive, then the audit.
                deadline = time.monotonic() + args.completion_timeout
                while time.monotonic() < deadline and any(m not in sink.arrivals for m in accepted):
                    await asyncio.sleep(0.5)
                drained_after = time.perf_counter() - sending_ended
                work = await traffic.stop(len([m for m in accepted if m in sink.arrivals]))
                handlers = await platform_handler_times(run)
                statuses: dict[str, str] = {}
                for session_id in sessions:
                    statuses.update(await history(api, token, session_id))
        finally:
            await sink.stop()
    counts.remove()
    completed = [m for m in accepted if m in sink.arrivals and statuses.get(m) in DONE]
    in_window = [m for m in completed if sink.arrivals[m] <= stop_at]
    no_webhook = [m for m in accepted if m not in sink.arrivals]
    not_sent_in_history = [m for m in accepted if statuses.get(m) not in DONE]
    per_second = rate(len(in_window), args.completed_seconds)
    return {
        "seconds": args.completed_seconds, "senders_in_flight": args.in_flight, "sessions": len(sessions),
        "accepted": len(accepted), "completed": len(completed), "completed_in_window": len(in_window),
        "rate_per_s": per_second,
        "latency": latency_summary([sink.arrivals[m] - accepted[m][1] for m in completed]),
        "lost": len(accepted) - len(completed), "no_webhook": len(no_webhook),
        "history_not_sent": len(not_sent_in_history), "webhook_duplicates": sink.duplicates,
        "refused": refused, "drained_after_s": round(drained_after, 1), "cpu_percent_of_one_core": cpu.result,
        # Every service, the simulated worker and the servers (not the load generator and its sink).
        "cpu_per_message": cpu_per_item(cpu.result, per_second),
        "handler_times": handlers, "replicas": args.replicas, **work,
    }


async def run(args, log_dir: Path) -> dict:
    baseline = await publish_consume(args.broker_messages)
    measured = await sustained_sends(args, log_dir)
    return {**measured, "baseline_broker": baseline,
            "rate_vs_baseline": ratio(measured["rate_per_s"], baseline["rate_per_s"]),
            "goal": {"rate_min_per_s": COMPLETED_MIN_PER_S, "lost": 0,
                     "met": measured["rate_per_s"] >= COMPLETED_MIN_PER_S and measured["lost"] == 0}}
