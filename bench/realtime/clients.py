"""One process of benchmark clients: many python-socketio AsyncClients on one event loop.

Driven by the coordinator (run.py) over stdin/stdout, one JSON object a line:
  -> {"ready": n, "connect_seconds": s, "refused": k}   once its clients are connected
  <- "collect <timeout>"                                 after the burst was sent
  -> {"latencies": [...], "duplicates": d, "missing": m} then it disconnects and exits
Each `session.status` a client receives carries its send time in `reason` (epoch seconds): the
latency is the receive time minus that, on the same machine's clock."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter

import aiohttp
import socketio


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", required=True, help="comma-separated; clients are spread across them")
    parser.add_argument("--tokens", required=True, help="a file with one access token per client")
    parser.add_argument("--expected", type=int, required=True, help="deliveries expected per client")
    parser.add_argument("--connect-concurrency", type=int, default=25)
    args = parser.parse_args()
    urls = args.urls.split(",")
    tokens = [line.strip() for line in open(args.tokens) if line.strip()]

    latencies: list[float] = []
    seen: list[Counter] = [Counter() for _ in tokens]
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    clients = []
    for index in range(len(tokens)):
        client = socketio.AsyncClient(reconnection=False, http_session=http)

        def on_status(data, index=index):
            latencies.append(time.time() - float(data["reason"]))
            seen[index][(data["session_id"], data["sequence"])] += 1

        client.on("session.status", on_status)
        clients.append(client)

    gate = asyncio.Semaphore(args.connect_concurrency)
    refused = 0

    async def connect(index: int) -> None:
        nonlocal refused
        async with gate:
            try:
                await clients[index].connect(urls[index % len(urls)], auth={"token": tokens[index]},
                                             transports=["websocket"], wait_timeout=30)
            except socketio.exceptions.ConnectionError:
                refused += 1

    started = time.perf_counter()
    await asyncio.gather(*(connect(i) for i in range(len(clients))))
    print(json.dumps({"ready": len(clients) - refused, "refused": refused,
                      "connect_seconds": round(time.perf_counter() - started, 3)}), flush=True)

    loop = asyncio.get_running_loop()
    command = (await loop.run_in_executor(None, sys.stdin.readline)).split()
    timeout = float(command[1]) if len(command) > 1 else 30.0
    deadline = time.monotonic() + timeout
    wanted = args.expected * (len(clients) - refused)
    while sum(sum(c.values()) for c in seen) < wanted and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # room for a late duplicate
    duplicates = sum(n - 1 for counter in seen for n in counter.values() if n > 1)
    missing = max(wanted - sum(len(c) for c in seen), 0)
    print(json.dumps({"latencies": latencies, "duplicates": duplicates, "missing": missing}), flush=True)
    await asyncio.gather(*(c.disconnect() for c in clients if c.connected), return_exceptions=True)
    await http.close()


if __name__ == "__main__":
    asyncio.run(main())
