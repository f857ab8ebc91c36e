"""Domain events from the broker, pushed to the Socket.IO rooms they concern."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from typing import Any, Awaitable, Callable

from wagw_common.contracts import Kind, contract_for, of_kind
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

from .catalog import PUSHES, user_room
from .metrics import PUSH_LAG, PUSHES as PUSHED

log = get_logger(__name__)

# The event families the service's queue is bound to for pushes (topology.REALTIME_EVENTS).
CONSUMED_FAMILIES = ("session", "message", "worker")
CONSUMED_EVENTS: tuple[str, ...] = tuple(
    sorted(c.type for c in of_kind(Kind.EVENT) if c.type.split(".", 1)[0] in CONSUMED_FAMILIES)
)
LOGINS_ENDED = "user.logins_ended"  # not pushed: it closes the user's connections

Emit = Callable[..., Awaitable[Any]]


async def when_domain_event_occurred_push_to_clients(envelope: Envelope, *, emit: Emit) -> None:
    push = PUSHES.get(envelope.type)
    if push is None:
        return  # consumed (the queue's bindings bring it) but not something browsers are told
    # Back to JSON-ready values (timestamps as ISO strings), exactly as the contract serialises them.
    data = contract_for(envelope.type).schema().dump(envelope.data)
    rooms = push.rooms(data)
    # One emit, however many rooms: a client in several of them gets it once. Every replica consumes
    # every event (a queue each), and each emits to its own clients.
    await emit(push.socket_event, push.payload(data), to=rooms)
    PUSHED.labels(push.socket_event).inc()
    PUSH_LAG.observe(max((datetime.now(timezone.utc) - envelope.time).total_seconds(), 0.0))
    log.info("realtime.pushed", socket_event=push.socket_event, rooms=rooms)


async def when_logins_ended_close_the_user_room(envelope: Envelope, *,
                                                close_room: Callable[[str], Awaitable[Any]]) -> None:
    """Every replica consumes the event and closes the room for its own members, ending their
    connections (connections.when_user_room_closes_end_its_logins). Only connections opened with the user's tokens
    are in that room: API-key connections stay, their keys are separate credentials."""
    await close_room(user_room(envelope.data["user_id"]))
    log.info("realtime.logins_ended", user_id=envelope.data["user_id"], reason=envelope.data["reason"])


def event_handlers(*, emit: Emit, close_room: Callable[[str], Awaitable[Any]]
                   ) -> dict[str, Callable[[Envelope], Awaitable[None]]]:
    """What the service's queue hands each event type to (its bindings bring exactly these)."""
    push = partial(when_domain_event_occurred_push_to_clients, emit=emit)
    return {**{event_type: push for event_type in CONSUMED_EVENTS},
            LOGINS_ENDED: partial(when_logins_ended_close_the_user_room, close_room=close_room)}
