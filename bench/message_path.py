"""CPU per message of the code every process runs for each message, without a broker: the real
`Consumer` taking a delivery (envelope, contract, handler call, metrics, log lines, ack) and the real
`Publishing` building an envelope (contract check, JSON). Process CPU time, so the machine's load
moves it far less than the platform's figures under `make bench`; run it on two commits to see what a
change to the shared path is worth.

    .venv/bin/python bench/message_path.py [--messages 2000] [--rounds 3]"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

from wagw_common.broker import Publishing
from wagw_common.consumer import Consumer, Subscription
from wagw_common.contracts import CATALOG
from wagw_common.logging import configure_logging
from wagw_common.topology import QueueSpec

# The types a completed send carries, from the gateway's command to the webhook's event.
TYPES = ("message.send", "worker.message.send", "worker.message.status", "message.queued", "message.sent")


class Delivery:
    """What the consumer reads of an aio-pika delivery, settled in memory."""

    def __init__(self, body: bytes):
        self.body, self.user_id, self.reply_to, self.headers, self.type = body, None, None, {}, None
        self.redelivered = False

    async def ack(self) -> None: ...

    async def reject(self, requeue: bool = False) -> None: ...

    async def nack(self, requeue: bool = True) -> None: ...


class Encoding(Publishing):
    source = "bench"

    async def publish(self, envelope, **_options) -> None:
        envelope.to_json()


async def nothing(_envelope) -> None: ...


async def per_message(message_type: str, count: int) -> tuple[float, float]:
    """Microseconds of CPU per consumed and per published message of one type."""
    publishing = Encoding()
    contract = CATALOG[message_type]
    data = contract.load(dict(contract.example))
    queue = QueueSpec(name="bench.message-path")
    consumer = Consumer(None, Subscription(queue, {message_type: nothing}, use_inbox=False),  # type: ignore[arg-type]
                        prefetch=1, max_attempts=5)
    bodies = [publishing.envelope(message_type, data).to_json() for _ in range(count)]
    started = time.process_time()
    for body in bodies:
        await consumer._on_message(Delivery(body))  # type: ignore[arg-type]
    consumed = time.process_time() - started
    started = time.process_time()
    for _ in range(count):
        await publishing.publish(publishing.envelope(message_type, data), exchange="", routing_key="")
    published = time.process_time() - started
    return consumed / count * 1e6, published / count * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="the median of this many rounds is shown")
    args = parser.parse_args()
    shown, sys.stdout = sys.stdout, open(os.devnull, "w")
    configure_logging("bench", "info")  # log lines are rendered as deployed, and written to nowhere
    try:
        rounds = [[await per_message(t, args.messages) for t in TYPES] for _ in range(args.rounds)]
    finally:
        sys.stdout = shown
    print(f"{'type':24} {'consume us':>10} {'publish us':>10}")
    for i, message_type in enumerate(TYPES):
        consume = statistics.median(r[i][0] for r in rounds)
        publish = statistics.median(r[i][1] for r in rounds)
        print(f"{message_type:24} {consume:10.0f} {publish:10.0f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
