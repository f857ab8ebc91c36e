"""The whole broker topology in one place: exchanges, queues, bindings and dead-letter queues.

Every durable queue is a quorum queue that dead-letters (at least once) into its own
`<queue>.dead-letter` queue, so a poison message is visible, countable and replayable. A queue
declared `per_replica` is one queue per replica of its service (`<queue>.replica.<id>`), each bound
alike, so every replica gets every message (or, bound on demand, each bound by its own replica to what
it wants); they share the family's dead-letter queue."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from typing import Any

from aio_pika import ExchangeType

COMMANDS = "wagw.commands"  # gateway -> services: commands and request/reply queries
EVENTS = "wagw.events"  # services -> anyone: domain events
WORKER_UPLINK = "wagw.worker-uplink"  # workers -> platform
WORKER_DOWNLINK = "wagw.worker-downlink"  # platform -> one worker (routing key: its worker id)
DEAD_LETTER = "wagw.dead-letter"  # failed messages, routed by their queue's name

EXCHANGES: dict[str, ExchangeType] = {
    COMMANDS: ExchangeType.TOPIC,
    EVENTS: ExchangeType.TOPIC,
    WORKER_UPLINK: ExchangeType.TOPIC,
    WORKER_DOWNLINK: ExchangeType.DIRECT,
    DEAD_LETTER: ExchangeType.DIRECT,
}

# A safety net above the consumers' own attempt budget (BROKER_MAX_ATTEMPTS): queue arguments
# cannot change once declared, so this one is fixed here rather than configurable.
DELIVERY_LIMIT = 20
# A replica's own queue outlives the replica this long (a restart or a broker reconnect finds it),
# then the broker deletes it with what it held: messages for clients no replica holds any more.
REPLICA_QUEUE_EXPIRES_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class QueueSpec:
    name: str
    bindings: tuple[tuple[str, str], ...] = field(default=())
    # Bindings an earlier version declared and this one no longer wants: removed at declaration
    # (a declaration only ever adds bindings, so a broker that ran the old version keeps them otherwise).
    retired_bindings: tuple[tuple[str, str], ...] = field(default=())
    # One consumer at a time takes the whole queue (the others wait as stand-ins): what keeps a
    # shard's messages in order across replicas.
    single_active_consumer: bool = False
    # Each replica consumes a queue of its own (`for_replica`) instead of competing for this one: for
    # a service that acts on what only it holds (realtime's Socket.IO clients).
    per_replica: bool = False
    family: str | None = None  # set on a replica's queue: the name of the queue it stands for

    @property
    def label(self) -> str:
        """The name metrics, logs and the dead-letter queue go by (a replica's queue: its family's)."""
        return self.family or self.name

    @property
    def dead_letter_name(self) -> str:
        return f"{self.label}.dead-letter"

    def for_replica(self, replica_id: str) -> "QueueSpec":
        return replace(self, name=f"{self.name}.replica.{replica_id}", family=self.name, per_replica=False)

    def arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER,
            "x-dead-letter-routing-key": self.label,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            **({"x-single-active-consumer": True} if self.single_active_consumer else {}),
            **({"x-expires": REPLICA_QUEUE_EXPIRES_MS} if self.family else {}),
        }


def dead_letter_arguments() -> dict[str, Any]:
    return {"x-queue-type": "quorum"}


# The catalogue of the services' queues: names and broker options. What each queue is bound to is
# not written here: it is generated from the handlers each service's router declares on it
# (`wagw_common.router`), so a type is bound exactly when something handles it. `retired_bindings`
# are the wildcards earlier versions bound, removed when a queue is declared.
# Compatibility: the `retired_bindings` below can go once every deployment has run a version that
# declares its queues through the routers (that declaration removed them from its broker).

# The orchestrator's request/reply queries have a queue of their own, so a backlog of sends or
# session commands never holds up a read (and its RPC timeout).
ORCHESTRATOR_COMMANDS = QueueSpec(
    "session-orchestrator.commands", retired_bindings=((COMMANDS, "session.*"), (COMMANDS, "message.*")),
)
ORCHESTRATOR_QUERIES = QueueSpec("session-orchestrator.queries")
# Sends are sharded by session: `message.send.<shard>` reaches one queue, consumed by one replica at
# a time (single active consumer), which handles one session's sends one after another. So a
# session's sends reach its worker in the order they were accepted, with any number of replicas.
# The shard count is part of the topology (queue names): changing it reorders only what is in flight.
SEND_SHARDS = 4
ORCHESTRATOR_SENDS = tuple(
    QueueSpec(f"session-orchestrator.sends.{shard}", single_active_consumer=True) for shard in range(SEND_SHARDS)
)


def send_routing_key(session_id: str) -> str:
    """`message.send.<shard>`: a stable hash of the session id (the same in every process)."""
    return f"message.send.{zlib.crc32(session_id.encode()) % SEND_SHARDS}"


# Workers' reports: about sessions (QR, status: what a failover waits for) on a queue of their own,
# so they never wait behind a backlog of message receipts; one consumer at a time, so a session's
# reports are applied in the order its worker sent them (CONNECTING, then CONNECTED).
ORCHESTRATOR_WORKER_UPLINK = QueueSpec(
    "session-orchestrator.worker-uplink",
    retired_bindings=((WORKER_UPLINK, "worker.session.*"), (WORKER_UPLINK, "worker.message.*")),
)
ORCHESTRATOR_SESSION_REPORTS = QueueSpec("session-orchestrator.session-reports", single_active_consumer=True,
                                         retired_bindings=((WORKER_UPLINK, "worker.session.*"),))
ORCHESTRATOR_FLEET_EVENTS = QueueSpec("session-orchestrator.fleet-events")
REGISTRY_WORKER_UPLINK = QueueSpec("worker-registry.worker-uplink")
REGISTRY_COMMANDS = QueueSpec("worker-registry.commands", retired_bindings=((COMMANDS, "worker.*"),))
WEBHOOK_COMMANDS = QueueSpec("webhook-dispatcher.commands", retired_bindings=((COMMANDS, "webhook.#"),))
WEBHOOK_EVENTS = QueueSpec("webhook-dispatcher.events",
                           retired_bindings=((EVENTS, "session.*"), (EVENTS, "message.*")))
# Delivery jobs are published straight to this queue through the default exchange.
WEBHOOK_DELIVERIES = QueueSpec("webhook-dispatcher.deliveries")


@dataclass(frozen=True)
class WaitQueueSpec:
    """A queue nobody consumes: a message waits there `delay_ms` at most (less if it carries a shorter
    expiration), then expires and is dead-lettered into `target` through the default exchange.
    Messages expire only from the head of a queue, so every delay has a queue of its own."""

    name: str
    delay_ms: int
    target: str

    def arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-message-ttl": self.delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": self.target,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }


def _delay_label(delay_ms: int) -> str:
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if delay_ms % size == 0:
            return f"{delay_ms // size}{unit}"
    return f"{delay_ms}ms"


def webhook_wait_queue(delay_seconds: float) -> WaitQueueSpec:
    """The dispatcher's retry schedule is a setting, so its wait queues are named by their delay
    (`webhook-dispatcher.wait.5m`): a queue's TTL never changes once declared."""
    delay_ms = max(1, round(delay_seconds * 1000))
    return WaitQueueSpec(f"webhook-dispatcher.wait.{_delay_label(delay_ms)}", delay_ms, WEBHOOK_DELIVERIES.name)


# Per replica: each replica pushes the events its own clients can receive to them, with no second hop
# through the broker to reach the replica that holds them.
REALTIME_EVENTS = QueueSpec("realtime.events", per_replica=True)
# Identity questions other services ask the gateway (it owns API keys and accounts): realtime's
# `apikey.resolve` and `account.standing`.
GATEWAY_QUERIES = QueueSpec("gateway.queries", retired_bindings=((COMMANDS, "apikey.*"),))
# A deleted session's API keys are the gateway's to revoke.
GATEWAY_SESSION_EVENTS = QueueSpec("gateway.session-events")

SERVICE_QUEUES: dict[str, tuple[QueueSpec, ...]] = {
    "session-orchestrator": (ORCHESTRATOR_COMMANDS, ORCHESTRATOR_QUERIES, *ORCHESTRATOR_SENDS,
                             ORCHESTRATOR_WORKER_UPLINK, ORCHESTRATOR_SESSION_REPORTS, ORCHESTRATOR_FLEET_EVENTS),
    "worker-registry": (REGISTRY_WORKER_UPLINK, REGISTRY_COMMANDS),
    "webhook-dispatcher": (WEBHOOK_COMMANDS, WEBHOOK_EVENTS, WEBHOOK_DELIVERIES),
    "realtime": (REALTIME_EVENTS,),
    "gateway": (GATEWAY_QUERIES, GATEWAY_SESSION_EVENTS),
}


def worker_command_queue(worker_id: str) -> QueueSpec:
    """Each worker consumes only its own queue; the broker routes by worker id."""
    return QueueSpec(f"worker.{worker_id}.commands", ((WORKER_DOWNLINK, worker_id),))

