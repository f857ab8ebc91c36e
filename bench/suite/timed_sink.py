"""The harness's webhook sink (tests/harness/sink.py), noting when each delivery arrived and waking
whoever waits for a given message's event."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from aiohttp import web
from harness.sink import WebhookSink


@dataclass
class TimedSink(WebhookSink):
    # message id (and the URL's query, which tells endpoints apart) -> first arrival (perf_counter)
    arrivals: dict[str, float] = field(default_factory=dict)
    deliveries: int = 0
    duplicates: int = 0
    keep_bodies: bool = False
    _waiting: dict[str, asyncio.Future] = field(default_factory=dict)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        now = time.perf_counter()
        self.deliveries += 1
        message_id = (body.get("data") or {}).get("message_id") or body.get("id")
        if request.query_string:
            message_id = f"{message_id}?{request.query_string}"
        if message_id in self.arrivals:
            self.duplicates += 1
        else:
            self.arrivals[message_id] = now
            waiter = self._waiting.pop(message_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)
        return web.Response(status=self.status)

    def arrival(self, message_id: str) -> asyncio.Future:
        """Resolves with the arrival time of the message's first delivery."""
        future = asyncio.get_running_loop().create_future()
        if message_id in self.arrivals:
            future.set_result(self.arrivals[message_id])
        else:
            self._waiting[message_id] = future
        return future
