import pytest
from wagw_common.envelope import Envelope

from wagw_common.worker_speakers import UplinkSpeakers, own_user

from wagw_worker_registry.identity import Forbidden, Speakers

pytestmark = pytest.mark.unit

SPEAKERS = Speakers(UplinkSpeakers(frozenset({"wagw-platform"})))


def beat(worker_id: str, *, user_id: str | None, source: str | None = None) -> Envelope:
    return Envelope(type="worker.heartbeat", source=source or f"worker/{worker_id}",
                    data={"worker_id": worker_id, "sessions": []}, user_id=user_id)


def test_a_worker_speaks_for_itself_with_its_own_user():
    assert SPEAKERS.require(beat("w-1", user_id="worker.w-1")) == "w-1"


def test_a_trusted_platform_user_speaks_for_any_worker_that_its_source_names():
    assert SPEAKERS.require(beat("w-2", user_id="wagw-platform")) == "w-2"


@pytest.mark.parametrize("envelope", [
    beat("w-2", user_id="worker.w-1"),  # another worker's credentials
    beat("w-1", user_id="worker.w-1", source="worker/w-2"),  # its own user, but a source naming another
    beat("w-2", user_id="wagw-platform", source="worker/w-1"),
    beat("w-1", user_id=None),  # no user_id: nobody vouches for the sender
    beat("w-1", user_id="guest"),  # not trusted here
], ids=["other-user", "source-mismatch", "trusted-but-mismatched", "no-user-id", "untrusted-user"])
def test_anyone_else_is_refused(envelope):
    with pytest.raises(Forbidden) as refused:
        SPEAKERS.require(envelope)
    assert refused.value.code == "forbidden"


def test_the_registrys_own_user_comes_from_its_url():
    assert own_user("amqp://wagw:secret@rabbitmq:5672/prod") == "wagw"
    assert own_user("amqp://rabbitmq/") == "guest"
    assert own_user("amqp://a%40b:x@h/") == "a@b"
