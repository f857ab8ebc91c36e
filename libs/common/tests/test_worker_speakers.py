"""The uplink's speaker is whom the broker vouches for (AMQP user_id), never the body's worker_id."""

import pytest
from prometheus_client import REGISTRY

from wagw_common.contracts.workers import worker_of_user
from wagw_common.envelope import Envelope
from wagw_common.worker_speakers import UplinkSpeakers, heard_from_worker, own_user

pytestmark = pytest.mark.unit

SPEAKERS = UplinkSpeakers.of("amqp://wagw-platform:secret@rabbitmq:5672/", frozenset({"wagw-loadgen"}))


def inbound(claimed: str, *, user_id: str | None, source: str | None = None) -> Envelope:
    return Envelope(type="worker.message.inbound", source=source or f"worker/{claimed}",
                    data={"worker_id": claimed, "session_id": "s_1"}, user_id=user_id)


def refused_senders() -> float:
    return REGISTRY.get_sample_value("wagw_worker_reports_refused_total",
                                     {"type": "worker.message.inbound", "reason": "not_the_sender"}) or 0.0


def test_a_workers_own_user_speaks_for_that_worker():
    assert SPEAKERS.speaker(inbound("w-1", user_id="worker.w-1")) == "w-1"


@pytest.mark.parametrize("user", ["wagw-platform", "wagw-loadgen"], ids=["own-user", "trusted-user"])
def test_the_services_own_user_and_trusted_users_speak_for_the_worker_named(user):
    assert SPEAKERS.speaker(inbound("w-2", user_id=user)) == "w-2"


@pytest.mark.parametrize("envelope", [
    inbound("w-2", user_id="worker.w-1"),  # its own credentials, naming another worker in the body
    inbound("w-1", user_id="worker.w-1", source="worker/w-2"),
    inbound("w-1", user_id=None),  # nobody vouches for the sender
    inbound("w-1", user_id="guest"),  # not trusted here
    inbound("w-1", user_id="worker."),
], ids=["body-names-another", "source-names-another", "no-user-id", "untrusted-user", "empty-worker-user"])
def test_anyone_else_is_refused_and_counted(envelope):
    before = refused_senders()
    assert SPEAKERS.speaker(envelope) is None
    assert refused_senders() == before + 1


async def test_a_handler_hears_only_the_speaker_the_broker_vouches_for():
    heard: list[str] = []

    async def handler(envelope, *, speaker):
        heard.append(speaker)

    handle = heard_from_worker(handler, SPEAKERS)
    await handle(inbound("w-1", user_id="worker.w-1"))
    await handle(inbound("w-1", user_id="worker.w-9"))  # w-9 speaking as w-1: dropped
    assert heard == ["w-1"]


def test_users_map_back_to_their_worker():
    assert (worker_of_user("worker.w-1"), worker_of_user("wagw"), worker_of_user(None)) == ("w-1", None, None)
    assert own_user("amqp://a%40b:x@h/") == "a@b" and own_user("amqp://rabbitmq/") == "guest"
