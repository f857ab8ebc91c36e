"""A Socket.IO client of the realtime edge that collects every event it is sent."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import socketio


class RealtimeListener:
    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token
        self.client = socketio.AsyncClient(reconnection=True)
        self.events: dict[str, list[dict]] = defaultdict(list)
        self._changed = asyncio.Event()
        self.client.on("*", self._record)

    async def _record(self, event: str, data=None) -> None:
        self.events[event].append(data)
        self._changed.set()

    async def connect(self) -> None:
        await self.client.connect(self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=10)

    async def wait_for(self, event: str, predicate=lambda data: True, timeout: float = 20.0) -> dict:
        async def match():
            while True:
                for data in self.events[event]:
                    if predicate(data):
                        return data
                self._changed.clear()
                await self._changed.wait()

        async with asyncio.timeout(timeout):
            return await match()

    async def close(self) -> None:
        await self.client.disconnect()
