"""Domain events from the broker, pushed to the Socket.IO rooms they concern."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from wagw_common.contracts import Kind, contract_for, of_kind
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

from .catalog import PUSHES
from .metrics import PUSH_LAG, PUSHES as PUSHED

log = get_logger(__name__)

# The event families the service's queue is bound to (topology.REALTIME_EVENTS).
CONSUMED_FAMILIES = ("session", "message", "worker")
CONSUMED_EVENTS: tuple[str, ...] = tuple(
    sorted(c.type for c in of_kind(Kind.EVENT) if c.type.split(".", 1)[0] in CONSUMED_FAMILIES)
)

Emit = Callable[..., Awaitable[Any]]


async def when_domain_event_occurred_push_to_clients(envelope: Envelope, *, emit: Emit) -> None:
    push = PUSHES.get(envelope.type)
    if push is None:
        return  # consumed (the queue's bindings bring it) but not something browsers are told
    # Back to JSON-ready values (timestamps as ISO strings), exactly as the contract serialises them.
    data = contract_for(envelope.type).schema().dump(envelope.data)
    rooms = push.rooms(data)
    # One emit, however many rooms: a client in several of them gets it once. The client manager
    # relays it to every replica, so clients connected anywhere get it.
    await emit(push.socket_event, push.payload(data), to=rooms)
    PUSHED.labels(push.socket_event).inc()
    PUSH_LAG.observe(max((datetime.now(timezone.utc) - envelope.time).total_seconds(), 0.0))
    log.info("realtime.pushed", socket_event=push.socket_event, rooms=rooms)
