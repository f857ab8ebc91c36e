"""Dead letters, for operators: count them per queue, look at them, and replay them into their queue.

    python -m wagw_common.dead_letters list
    python -m wagw_common.dead_letters show session-orchestrator.commands --limit 5
    python -m wagw_common.dead_letters replay session-orchestrator.commands [--limit N] [--type T]

Every queue dead-letters into `<queue>.dead-letter` (see topology.py). `replay` moves messages back to
the front of the platform: each is republished, with its properties, to its own queue through the
default exchange (so only that queue gets it, not every subscriber of the event) and removed from the
dead-letter queue only once the broker has confirmed the copy. A replayed message gets a fresh attempt
budget; consumers are idempotent (the inbox, or handlers idempotent on their own ids), so replaying
one that had in fact been handled is harmless. `--type` replays only one message type and leaves the others where they
are. Uses AMQP_URL.
Fix the cause first (a deployment, a dependency): a message that fails again returns to the
dead-letter queue after BROKER_MAX_ATTEMPTS deliveries."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import aio_pika
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue

from . import topology

SUFFIX = ".dead-letter"
# Headers RabbitMQ adds on dead-lettering and delivery; a replayed message starts afresh without them.
_BROKER_HEADERS = ("x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                   "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", "x-delivery-count")


_PER_REPLICA = {spec.name for specs in topology.SERVICE_QUEUES.values() for spec in specs if spec.per_replica}


def platform_queues() -> list[str]:
    return sorted(spec.name for specs in topology.SERVICE_QUEUES.values() for spec in specs)


def _waiting(queue: AbstractQueue) -> int:
    """Messages in a queue, as its (passive) declaration found them."""
    return queue.declaration_result.message_count or 0


async def counts(channel: AbstractChannel, queues: list[str]) -> dict[str, int]:
    """Dead letters waiting behind each queue (a missing queue closes the channel: one queue per channel then)."""
    found = {}
    for name in queues:
        dead = await channel.declare_queue(name + SUFFIX, passive=True)
        found[name] = _waiting(dead)
    return found


async def replay(connection: AbstractConnection, queue: str, *, limit: int | None = None,
                 message_type: str | None = None) -> dict[str, int]:
    """Move up to `limit` dead letters of `queue` (only those of `message_type`, if given) back into it."""
    if queue in _PER_REPLICA:
        # Its replicas' queues come and go with them, and a push replayed later is stale anyway.
        raise ValueError(f"{queue} is consumed through a queue per replica: its dead letters can be shown, "
                         "not replayed")
    channel = await connection.channel(publisher_confirms=True)
    dead = await channel.declare_queue(queue + SUFFIX, passive=True)
    await channel.declare_queue(queue, passive=True)
    total = _waiting(dead)
    replayed = skipped = 0
    # Each message is looked at once: a skipped one goes back to the dead-letter queue (at its end)
    # only after the pass, so a pass ends after `total` messages.
    held = []
    try:
        for _ in range(total):
            if limit is not None and replayed >= limit:
                break
            message = await dead.get(no_ack=False, fail=False, timeout=5)
            if message is None:
                break
            if message_type and message.type != message_type:
                held.append(message)
                skipped += 1
                continue
            headers = {k: v for k, v in (message.headers or {}).items() if k not in _BROKER_HEADERS}
            copy = Message(message.body, headers=headers, content_type=message.content_type,
                           delivery_mode=DeliveryMode.PERSISTENT, message_id=message.message_id,
                           correlation_id=message.correlation_id, type=message.type, app_id=message.app_id,
                           timestamp=message.timestamp, user_id=None)
            await channel.default_exchange.publish(copy, routing_key=queue, mandatory=True)  # confirmed
            await message.ack()
            replayed += 1
    finally:
        for message in held:
            await message.nack(requeue=True)
        await channel.close()
    return {"replayed": replayed, "skipped": skipped, "left": total - replayed}


async def show(connection: AbstractConnection, queue: str, limit: int) -> list[dict[str, Any]]:
    """The first `limit` dead letters of `queue`, left where they are."""
    channel = await connection.channel()
    dead = await channel.declare_queue(queue + SUFFIX, passive=True)
    seen, held = [], []
    try:
        for _ in range(limit):
            message = await dead.get(no_ack=False, fail=False, timeout=5)
            if message is None:
                break
            held.append(message)
            deaths: Any = (message.headers or {}).get("x-death") or [{}]  # the broker's list of tables
            death = deaths[0]
            seen.append({"message_id": message.message_id, "type": message.type, "app_id": message.app_id,
                         "reason": str(death.get("reason", "")), "count": int(death.get("count", 0) or 0),
                         "body": message.body.decode(errors="replace")[:2000]})
    finally:
        for message in held:
            await message.nack(requeue=True)
        await channel.close()
    return seen


async def _main(args: argparse.Namespace) -> int:
    connection = await aio_pika.connect(os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    try:
        if args.action == "list":
            found: dict[str, int | None] = {}
            for name in platform_queues():
                channel = await connection.channel()
                try:
                    found[name] = (await counts(channel, [name]))[name]
                except aio_pika.exceptions.ChannelClosed:
                    found[name] = None  # not declared yet on this broker
                finally:
                    if not channel.is_closed:
                        await channel.close()
            print(json.dumps(found, indent=2))
        elif args.action == "show":
            print(json.dumps(await show(connection, args.queue, args.limit), indent=2))
        else:
            try:
                print(json.dumps(await replay(connection, args.queue, limit=args.limit, message_type=args.type)))
            except ValueError as exc:
                print(json.dumps({"error": str(exc)}))
                return 2
    finally:
        await connection.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wagw_common.dead_letters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("list", "show", "replay"))
    parser.add_argument("queue", nargs="?", help="a queue's name (not its .dead-letter queue)")
    parser.add_argument("--limit", type=int, default=None, help="at most this many (show: default 10)")
    parser.add_argument("--type", help="replay: only messages of this type")
    args = parser.parse_args(argv)
    if args.action != "list" and not args.queue:
        parser.error(f"{args.action} needs a queue")
    if args.queue and args.queue.endswith(SUFFIX):
        args.queue = args.queue[: -len(SUFFIX)]
    if args.action == "show" and args.limit is None:
        args.limit = 10
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
