"""A service's router served on the in-memory broker by the real consumers."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, cast

from ..broker import Broker
from ..consumer import Consumer
from ..router import Router
from ..rpc import RpcClient
from .broker import InMemoryBroker


class MemoryInbox:
    """The consumer's inbox of handled envelope ids (the service's is in MongoDB)."""

    def __init__(self) -> None:
        self.handled: dict[str, str] = {}

    async def seen(self, envelope_id: str) -> bool:
        return envelope_id in self.handled

    async def remember(self, envelope_id: str, message_type: str) -> None:
        self.handled[envelope_id] = message_type


@asynccontextmanager
async def serve(router: Router[Any], deps: Any, broker: InMemoryBroker, *, prefetch: int = 16, max_attempts: int = 3,
                inbox: MemoryInbox | None = None, replica_id: str | None = None) -> AsyncIterator[RpcClient]:
    """Consume every queue of `router` with `deps`; yields an RPC client on the same broker, so a
    test asks queries the way the gateway does and gets the consumer's real replies and errors.
    `replica_id`: the replica whose queues a per-replica family's consumer takes (as `Resources.replica_id`)."""
    inbox = inbox if inbox is not None else MemoryInbox()
    # The in-memory broker stands in for the real one: the same surface, duck-typed.
    consumers = [Consumer(cast(Broker, broker), subscription, prefetch=prefetch, max_attempts=max_attempts, inbox=inbox,
                          replica_id=replica_id)
                 for subscription in router.subscriptions(deps)]
    for consumer in consumers:
        await consumer.start()
    rpc = RpcClient(cast(Broker, broker), default_timeout=5.0)
    await rpc.start()
    try:
        yield rpc
        await broker.settled()
    finally:
        await asyncio.gather(*(consumer.stop(grace=1.0) for consumer in consumers))
        await broker.close()
