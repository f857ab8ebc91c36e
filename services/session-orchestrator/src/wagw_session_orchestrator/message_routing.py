"""Getting an accepted message to the worker that holds its session, exactly once per worker.

A message records the worker it was handed to (`routed_to`). Messages accepted while their session
is moving (RECONNECTING) are held: stored as queued with no worker. When the session's worker
reports CONNECTED, every queued message not yet handed to that worker (held ones, and those handed
to a worker that died before sending them) is claimed for it, oldest first, and sent: in order,
and a claim (`routed_to` compare-and-set) keeps two releases from sending one message twice. Paced
sends are left to the paced release (paced_release.py), which keeps their gap after a failover too."""

from __future__ import annotations

from typing import Any

from aio_pika.exceptions import PublishError

from wagw_common.broker import Publishing
from wagw_common.logging import get_logger
from wagw_common.outbox import OutboxRelay

from . import clock, events
from .lifecycle import FAILED
from .messages_store import MessagesStore

log = get_logger(__name__)
# Fields of a stored message that the worker command carries as they are (the media, location, …).
_CONTENT = ("type", "text")


def worker_command(message: dict[str, Any], *, rerouted: bool = False) -> dict[str, Any]:
    command = {"session_id": message["session_id"], "message_id": message["_id"], "to": message["chat"]}
    command.update({name: message[name] for name in _CONTENT if message.get(name) is not None})
    command.update(message.get("content") or {})
    if rerouted:
        command["rerouted"] = True
    return command


async def hand_to_worker(message: dict[str, Any], worker_id: str, *, messages: MessagesStore, relay: OutboxRelay,
                         broker: Publishing, rerouted: bool = False) -> bool:
    """Send the message to its worker; an unroutable worker queue fails it (waiting will not help;
    transient errors propagate and the command is retried)."""
    try:
        await broker.send_to_worker(worker_id, "worker.message.send", worker_command(message, rerouted=rerouted),
                                    subject=message["_id"])
    except PublishError as exc:
        log.warning("message.worker_unreachable", message_id=message["_id"], worker_id=worker_id, error=repr(exc))
        await fail(message, "worker_unreachable", messages=messages, relay=relay, broker=broker)
        return False
    log.info("message.routed", message_id=message["_id"], worker_id=worker_id)
    return True


async def release_held(session_id: str, worker_id: str, *, messages: MessagesStore, relay: OutboxRelay,
                       broker: Publishing, rerouted: bool = False) -> int:
    """Hand every queued message of the session that this worker has not had yet to it, oldest first.
    `rerouted`: back to the worker that bounced one, which sends them even while it waits for the registry."""
    released = 0
    for message in await messages.waiting_for(session_id, worker_id):
        if message.get("paced_until"):
            # Paced sends reach a worker only through the paced release, a gap after the last one: one
            # handed to a worker that lost the session waits there again (its slot has come, so it goes first).
            if message.get("routed_to") is not None:
                await messages.unroute(message["_id"], message["routed_to"])
            continue
        if not await messages.claim_route(message["_id"], worker_id, rerouted=rerouted):
            continue  # sent by a concurrent release, or moved on meanwhile
        if await hand_to_worker(message, worker_id, messages=messages, relay=relay, broker=broker, rerouted=rerouted):
            released += 1
    if released:
        log.info("message.held_released", session_id=session_id, worker_id=worker_id, count=released)
    return released


async def fail(message: dict[str, Any], reason: str, *, messages: MessagesStore, relay: OutboxRelay,
               broker: Publishing) -> None:
    now = clock.now()
    entry = events.message_status(broker, message, status=FAILED, at=now, reason=reason)
    written = await messages.advance(message, FAILED, {"status": FAILED, "at": now, "reason": reason}, entry)
    if written is not None:
        await events.publish_outbox(relay, message["_id"], [entry])
