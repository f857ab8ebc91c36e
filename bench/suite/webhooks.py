"""Part 3, webhook dispatch: message events published straight to the broker for a customer with
twenty endpoints (one in ten answering 500), delivered by the dispatcher to local sinks; the rate and
latency of the successful deliveries (publish to arrival) within a bounded window. Beside a bare aiohttp client posting
the
same bodies to the same sinks with the dispatcher's concurrency (no broker, no signing, no records)."""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
from wagw_common.broker import Broker

from .cpu_window import CpuWindow
from .service_metrics import platform_handler_times
from .stats import latency_summary, rate
from .timed_sink import TimedSink
from .world import platform, tenant_with_sessions

DELIVERY_CONCURRENCY = 32  # the dispatcher's default WEBHOOK_DELIVERY_CONCURRENCY


def event(tenant_id: str, session_id: str, message_id: str) -> dict:
    return {"tenant_id": tenant_id, "session_id": session_id, "message_id": message_id, "status": "sent",
            "to": "628123456789@s.whatsapp.net", "reason": None,
            "at": datetime.now(timezone.utc)}


def endpoint_urls(ok: TimedSink, failing: TimedSink, count: int) -> list[str]:
    """`count` endpoint URLs, one in ten on the failing sink; the query string tells them apart."""
    bad = max(1, count // 10)
    return [f"{(failing if n < bad else ok).url}?e={n}" for n in range(count)]


async def dispatched(args, log_dir: Path, ok: TimedSink, failing: TimedSink) -> dict:
    async with platform("wagw-bench-webhooks", log_level=args.log_level, replicas=args.replicas) as run:
        async with aiohttp.ClientSession() as http:
            tenant = await tenant_with_sessions(run, http, 1)
            urls = endpoint_urls(ok, failing, args.webhook_endpoints)
            for url in urls:
                await tenant.api.request("POST", "/webhooks", token=tenant.customer.token,
                                         json={"url": url, "events": ["message.sent"]}, expect=201)
        session_id = next(iter(tenant.keys))
        broker = Broker(run.vhost.amqp_url, source="bench")
        await broker.connect(10)
        published: dict[str, float] = {}
        good = [u.split("?", 1)[1] for u in urls if u.startswith(ok.url)]
        expected = args.webhook_events * len(good)
        pids = {name: run.services[name].process.pid for name in ("webhook-dispatcher",)}
        try:
            with CpuWindow(pids) as cpu:
                started = time.perf_counter()
                gate = asyncio.Semaphore(100)

                async def publish() -> None:
                    message_id = "m_" + secrets.token_hex(8)
                    async with gate:
                        published[message_id] = time.perf_counter()
                        await broker.publish_event("message.sent", event(tenant.user_id, session_id, message_id),
                                                   subject=session_id)

                await asyncio.gather(*(publish() for _ in range(args.webhook_events)))
                # Measured for a bounded window: what has not arrived by then is the backlog.
                deadline = started + args.webhook_seconds
                while len(ok.arrivals) < expected and time.perf_counter() < deadline:
                    await asyncio.sleep(0.2)
                ended = time.perf_counter()
            handlers = await platform_handler_times(run)
        finally:
            await broker.close()
    arrivals = [(key, at) for key, at in ok.arrivals.items() if at <= ended]
    # All delivered: the rate up to the last one; otherwise over the whole window.
    span = max(at for _, at in arrivals) - started if len(arrivals) == expected else ended - started
    latencies = [at - published[key.split("?", 1)[0]] for key, at in arrivals]
    return {"events": args.webhook_events, "endpoints": len(urls), "failing_endpoints": len(urls) - len(good),
            "expected_deliveries": expected, "delivered": len(arrivals), "not_yet_delivered": expected - len(arrivals),
            "duplicates": ok.duplicates, "failing_attempts": failing.deliveries,
            "seconds": round(span, 2), "rate_per_s": rate(len(arrivals), span),
            "latency": latency_summary(latencies), "cpu_percent_of_one_core": cpu.result,
            "handler_times": handlers.get("webhook-dispatcher", {})}


async def bare_http(args, ok: TimedSink, failing: TimedSink) -> dict:
    """The same bodies to the same endpoints, DELIVERY_CONCURRENCY at a time, from one plain client."""
    urls = endpoint_urls(ok, failing, args.webhook_endpoints)
    jobs = [(url, "m_" + secrets.token_hex(8)) for _ in range(args.webhook_events) for url in urls]
    gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=DELIVERY_CONCURRENCY)) as http:
        async def post(url: str, message_id: str) -> None:
            async with gate:
                body = {"type": "message.sent", "data": {**event("u_bench", "s_bench", message_id),
                                                         "at": datetime.now(timezone.utc).isoformat()}}
                sent = time.perf_counter()
                async with http.post(url, json=body) as response:
                    await response.read()
                    if response.status < 300:
                        latencies.append(time.perf_counter() - sent)

        started = time.perf_counter()
        await asyncio.gather(*(post(url, mid) for url, mid in jobs))
        elapsed = time.perf_counter() - started
    return {"posts": len(jobs), "delivered": len(latencies), "concurrency": DELIVERY_CONCURRENCY,
            "seconds": round(elapsed, 2), "rate_per_s": rate(len(latencies), elapsed),
            "latency": latency_summary(latencies)}


async def run(args, log_dir: Path) -> dict:
    sinks = [TimedSink(), TimedSink(status=500), TimedSink(), TimedSink(status=500)]
    for sink in sinks:
        await sink.start()
    try:
        baseline = await bare_http(args, sinks[2], sinks[3])
        measured = await dispatched(args, log_dir, sinks[0], sinks[1])
    finally:
        for sink in sinks:
            await sink.stop()
    return {"dispatcher": measured, "baseline_bare_http": baseline}
