"""Who speaks on the worker uplink: the sender the broker vouches for, never what the body claims.

RabbitMQ refuses a message whose AMQP `user_id` is not the user of the connection that published it,
so `user_id` is who published. A worker's own credentials carry the user `worker.<worker id>` and
speak for that worker alone, whatever the body names. The consuming service's own user and those in
`WORKER_TRUSTED_USERS` (the local simulator, the load generator; never a worker in production) speak
for the worker the message names. Either way the envelope's `source` must name that same worker.

Every consumer of the uplink (the registry, the orchestrator, any added later) asks here first. What
it refuses, here or later (a report about a session the speaker does not hold), is counted in
`wagw_worker_reports_refused_total{type,reason}`, logged (`worker.report_refused`) and dropped:
acked, never turned into a domain event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import unquote, urlsplit

from prometheus_client import Counter

from .contracts.workers import source_for, worker_of_user
from .envelope import Envelope
from .logging import get_logger

log = get_logger(__name__)

# Why a worker message was refused (the metric's `reason` label takes only these).
NOT_THE_SENDER = "not_the_sender"  # the broker's user may not speak for the worker the message names
SESSION_NOT_HELD = "session_not_held"  # about a session the platform has not placed on that worker
MESSAGE_NOT_HANDED_TO_IT = "message_not_handed_to_it"  # about a send given to another worker, or to none

REPORTS_REFUSED = Counter(
    "wagw_worker_reports_refused_total",
    "Worker messages refused, by type and reason: not_the_sender (its broker user may not speak for the "
    "worker it names), session_not_held (a session not placed on that worker), message_not_handed_to_it",
    ["type", "reason"],
)


def own_user(amqp_url: str) -> str:
    """The broker user a service logs in as (AMQP's default is guest)."""
    return unquote(urlsplit(amqp_url).username or "guest")


def refuse(envelope: Envelope, reason: str, **context: Any) -> None:
    """Count and log a worker message that is dropped for who sent it or what it is about."""
    REPORTS_REFUSED.labels(envelope.type, reason).inc()
    log.warning("worker.report_refused", type=envelope.type, reason=reason, user_id=envelope.user_id,
                claimed_worker_id=envelope.data.get("worker_id"), source=envelope.source, **context)


@dataclass(frozen=True)
class UplinkSpeakers:
    """The broker users trusted to speak for any worker; every other user speaks only for its own."""

    trusted_users: frozenset[str]

    @classmethod
    def of(cls, amqp_url: str, trusted_users: frozenset[str]) -> "UplinkSpeakers":
        return cls(frozenset(trusted_users) | {own_user(amqp_url)})

    def speaker(self, envelope: Envelope) -> str | None:
        """The worker the broker vouches for, if the message names it; else None (refused and counted)."""
        claimed = envelope.data.get("worker_id")
        user = envelope.user_id
        worker = claimed if user is not None and user in self.trusted_users else worker_of_user(user)
        if worker is None or worker != claimed or envelope.source != source_for(worker):
            refuse(envelope, NOT_THE_SENDER)
            return None
        return worker


def heard_from_worker(handler: Callable[..., Awaitable[Any]], speakers: UplinkSpeakers
                      ) -> Callable[[Envelope], Awaitable[Any]]:
    """The handler, called with `speaker=` the worker the broker vouches for; anyone else is dropped."""

    async def handle(envelope: Envelope) -> Any:
        speaker = speakers.speaker(envelope)
        if speaker is None:
            return None
        return await handler(envelope, speaker=speaker)

    return handle
