"""Who is speaking: a worker message is handled only if it comes from the worker it names.

RabbitMQ checks the AMQP `user_id` property of every message against the connection's user, so
`user_id` is who published. A worker's own credentials carry the user `worker.<worker id>`; the
registry's own user, and those in WORKER_TRUSTED_USERS, may speak for any worker (the local
simulator, the load generator). The envelope's `source` must name the worker in every case."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from prometheus_client import Counter
from wagw_common.contracts.workers import may_speak_for
from wagw_common.envelope import Envelope
from wagw_common.errors import DomainError
from wagw_common.logging import get_logger

log = get_logger(__name__)
REJECTED = Counter("wagw_worker_registry_uplink_rejected_total",
                   "Worker messages refused because the sender may not speak for the worker they name", ["type"])


def own_user(amqp_url: str) -> str:
    """The broker user the registry itself logs in as (AMQP's default is guest)."""
    return unquote(urlsplit(amqp_url).username or "guest")


class Forbidden(DomainError):
    code = "forbidden"


class Speakers:
    def __init__(self, trusted_users: frozenset[str]):
        self.trusted_users = trusted_users

    def require(self, envelope: Envelope) -> str:
        """The worker id the message speaks for, if its sender may; else Forbidden (acked, counted, logged)."""
        worker_id = envelope.data["worker_id"]
        if may_speak_for(worker_id, user_id=envelope.user_id, source=envelope.source, trusted_users=self.trusted_users):
            return worker_id
        REJECTED.labels(envelope.type).inc()
        log.warning("worker.impersonation_rejected", claimed_worker_id=worker_id, user_id=envelope.user_id,
                    source=envelope.source)
        raise Forbidden(f"{envelope.user_id or 'an unidentified sender'} may not speak for worker {worker_id}")
