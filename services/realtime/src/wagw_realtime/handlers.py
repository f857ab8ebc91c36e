"""Domain events from the broker, pushed to the Socket.IO rooms they concern."""

from __future__ import annotations

from datetime import datetime, timezone

from wagw_common.contracts import contract_for
from wagw_common.envelope import Envelope
from wagw_common.logging import get_logger

from .catalog import PUSHES, user_room
from .connections import Edge
from .metrics import PUSH_LAG, PUSHES as PUSHED

log = get_logger(__name__)


async def when_domain_event_occurred_push_to_clients(envelope: Envelope, edge: Edge) -> None:
    push = PUSHES[envelope.type]  # the queue is only ever bound to these types (router.py)
    # Back to JSON-ready values (timestamps as ISO strings), exactly as the contract serialises them.
    data = contract_for(envelope.type).serialise(envelope.data)
    rooms = push.rooms(data)
    # One emit, however many rooms: a client in several of them gets it once. Every replica with clients
    # that can receive it consumes the event (a queue each) and emits to its own clients only: no second
    # trip through the broker.
    await edge.sio.emit(push.socket_event, push.payload(data), to=rooms, ignore_queue=True)
    PUSHED.labels(push.socket_event).inc()
    PUSH_LAG.observe(max((datetime.now(timezone.utc) - envelope.time).total_seconds(), 0.0))
    # The consumer's `message.handled` line already records every event handled; at info level a second
    # line per push cost as much CPU as the push's own serialisation (docs/performance.md).
    log.debug("realtime.pushed", socket_event=push.socket_event, rooms=rooms)


async def when_logins_ended_close_the_user_room(envelope: Envelope, edge: Edge) -> None:
    """Every replica consumes the event and closes the room for its own members, ending their
    connections (connections.when_user_room_closes_end_its_logins). Only connections opened with the user's tokens
    are in that room: API-key connections stay, their keys are separate credentials."""
    await edge.sio.manager.close_room_here(user_room(envelope.data["user_id"]))
    log.info("realtime.logins_ended", user_id=envelope.data["user_id"], reason=envelope.data["reason"])
