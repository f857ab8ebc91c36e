"""The Socket.IO client manager that shares rooms across replicas over RabbitMQ, with a lifecycle.

python-socketio's AsyncAioPikaManager opens its publisher on the first emit and its listener on
the first client. Two faults follow: emits racing on that first publish find the exchange not yet
declared and are dropped ("'NoneType' object has no attribute 'publish'", seen with concurrent
consumers), and neither connection is ever closed. Opening both at start-up and closing them at
shutdown removes the race and gives them the app's lifetime.

Its listener also takes one message at a time from the broker (prefetch 1), a round trip per emit
relayed from another replica; it takes LISTENER_PREFETCH, still handled one by one and in order.

Closing a room reaches every replica (python-socketio relays it); `on_room_closing` lets the service
act on the room's local members first, which is how a user's logins end on every replica at once.
Domain events reach every replica on a queue of its own, so their pushes and room closings stay on
the replica (`emit(..., ignore_queue=True)`, `close_room_here`): no second trip through the broker."""

from __future__ import annotations

from typing import Awaitable, Callable

import socketio
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from wagw_common.tasks import cancel_and_wait

LISTENER_PREFETCH = 128
RoomClosing = Callable[[str, list[str]], Awaitable[None]]


class RabbitRoomsManager(socketio.AsyncAioPikaManager):
    # Called with the room and the sids of this replica's members, before they leave it.
    on_room_closing: RoomClosing | None = None
    # Set by the base class (which ships no types): None until the first publish opens them.
    publisher_connection: AbstractRobustConnection | None
    publisher_channel: AbstractChannel | None
    publisher_exchange: AbstractExchange | None

    async def _handle_close_room(self, message):
        if self.on_room_closing is not None:
            room, namespace = message.get("room"), message.get("namespace") or "/"
            members = [sid for sid, _eio_sid in self.get_participants(namespace, room)]
            await self.on_room_closing(room, members)
        await super()._handle_close_room(message)

    async def close_room_here(self, room: str, namespace: str | None = None) -> None:
        """Close the room on this replica only, its members told first (as a relayed close is)."""
        await self._handle_close_room({"room": room, "namespace": namespace})

    async def open(self) -> None:
        async with self._lock:
            if self.publisher_exchange is None:
                connection = await self._connection()
                channel = await self._channel(connection)
                self.publisher_exchange = await self._exchange(channel)
                self.publisher_channel, self.publisher_connection = channel, connection

    async def _queue(self, channel, exchange):
        # Called by the listener right after its own set_qos(prefetch_count=1): raise it.
        await channel.set_qos(prefetch_count=LISTENER_PREFETCH)
        return await super()._queue(channel, exchange)

    async def _publish(self, data):
        # The parent takes "connection is set" to mean "exchange is set"; make that true first.
        if self.publisher_exchange is None:
            await self.open()
        await super()._publish(data)

    async def close(self) -> None:
        listener = getattr(self, "thread", None)
        if listener is not None:
            await cancel_and_wait([listener])
        if self.publisher_connection is not None:
            await self.publisher_connection.close()
