import pytest

from wagw_webhook_dispatcher.gate import EndpointGate

pytestmark = pytest.mark.unit


def test_an_endpoint_holds_at_most_its_limit_and_others_are_not_affected():
    gate = EndpointGate(limit=2)
    with gate.enter("wh_slow") as a, gate.enter("wh_slow") as b, gate.enter("wh_slow") as c:
        assert (a, b, c) == (True, True, False)
        with gate.enter("wh_fast") as other:
            assert other is True and gate.running("wh_fast") == 1
        assert gate.running("wh_slow") == 2
    assert gate.running("wh_slow") == 0


def test_a_slot_is_given_back_when_the_attempt_fails():
    gate = EndpointGate(limit=1)
    with pytest.raises(RuntimeError):
        with gate.enter("wh_1"):
            raise RuntimeError("boom")
    with gate.enter("wh_1") as entered:
        assert entered
