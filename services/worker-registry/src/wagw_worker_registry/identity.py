"""Who is speaking: a worker message is handled only if it comes from the worker it names.

The rule is the uplink's own (wagw_common.worker_speakers): the broker-verified AMQP `user_id`
decides, a worker's own user `worker.<worker id>` speaks for that worker alone, the registry's own
user and those in WORKER_TRUSTED_USERS for any worker (the local simulator, the load generator). A
refused message is counted and logged there and rejected here (acked; the sender is not answered)."""

from __future__ import annotations

from wagw_common.envelope import Envelope
from wagw_common.errors import DomainError
from wagw_common.worker_speakers import UplinkSpeakers


class Forbidden(DomainError):
    code = "forbidden"


class Speakers:
    def __init__(self, speakers: UplinkSpeakers):
        self.speakers = speakers

    def require(self, envelope: Envelope) -> str:
        """The worker id the broker vouches for, if the message names it; else Forbidden."""
        worker_id = self.speakers.speaker(envelope)
        if worker_id is None:
            raise Forbidden(f"{envelope.user_id or 'an unidentified sender'} may not speak for worker "
                            f"{envelope.data.get('worker_id')}")
        return worker_id
