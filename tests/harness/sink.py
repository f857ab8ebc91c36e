"""A local webhook receiver that records what it gets and verifies Standard Webhooks signatures."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks.webhooks import Webhook

from .processes import free_port


@dataclass
class Received:
    headers: dict
    body: bytes

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookSink:
    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    status: int = 200
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        received = Received(dict(request.headers), await request.read())
        async with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        return web.Response(status=self.status)

    async def wait_for(self, predicate, timeout: float = 20.0) -> Received:
        async def first_match():
            async with self._arrived:
                while True:
                    for item in self.received:
                        if predicate(item):
                            return item
                    await self._arrived.wait()

        async with asyncio.timeout(timeout):
            return await first_match()


def verify(secret: str, received: Received) -> dict:
    """What a customer's receiver does: reject unless the signature matches."""
    headers = {k.lower(): v for k, v in received.headers.items()}
    return Webhook(secret).verify(received.body, headers)
