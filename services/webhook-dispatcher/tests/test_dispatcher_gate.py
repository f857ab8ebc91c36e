import asyncio

import pytest

from wagw_webhook_dispatcher.gate import EndpointGate

pytestmark = pytest.mark.unit


async def test_an_endpoint_holds_at_most_its_limit_and_others_are_not_affected():
    gate = EndpointGate(limit=2, waiting_room=0)
    async with gate.enter("wh_slow") as a, gate.enter("wh_slow") as b, gate.enter("wh_slow") as c:
        assert (a, b, c) == (True, True, False)
        async with gate.enter("wh_fast") as other:
            assert other is True and gate.running("wh_fast") == 1
        assert gate.running("wh_slow") == 2
    assert gate.running("wh_slow") == 0


async def test_a_slot_is_given_back_when_the_attempt_fails():
    gate = EndpointGate(limit=1)
    with pytest.raises(RuntimeError):
        async with gate.enter("wh_1"):
            raise RuntimeError("boom")
    async with gate.enter("wh_1") as entered:
        assert entered and gate.running("wh_1") == 1
    assert gate.running("wh_1") == 0


async def test_a_full_endpoint_hands_each_freed_slot_to_the_longest_waiting_job():
    gate = EndpointGate(limit=1, waiting_room=2, patience=5)
    async with gate.enter("wh_1"):
        pass  # one quick attempt: the gate now knows the endpoint is fast
    order: list[str] = []
    release_first = asyncio.Event()

    async def attempt(name: str, hold: asyncio.Event | None = None) -> bool:
        async with gate.enter("wh_1") as entered:
            if entered:
                order.append(name)
                if hold is not None:
                    await hold.wait()
            return entered

    first = asyncio.create_task(attempt("first", release_first))
    await asyncio.sleep(0)
    second, third = asyncio.create_task(attempt("second")), asyncio.create_task(attempt("third"))
    await asyncio.sleep(0.01)
    assert gate.running("wh_1") == 1 and gate.waiting("wh_1") == 2
    # A newcomer finds the waiting room full: put off at once rather than jumping the queue.
    assert await attempt("fourth") is False
    release_first.set()
    assert await asyncio.gather(first, second, third) == [True, True, True]
    assert order == ["first", "second", "third"]
    assert gate.running("wh_1") == 0 and gate.waiting("wh_1") == 0


async def test_a_job_waits_only_as_long_as_its_patience():
    gate = EndpointGate(limit=1, waiting_room=1, patience=0.05)
    async with gate.enter("wh_stuck"):
        async with gate.enter("wh_stuck") as late:  # nothing known: it waits, for twice the patience
            assert late is False
        assert gate.waiting("wh_stuck") == 0 and gate.running("wh_stuck") == 1
    assert gate.running("wh_stuck") == 0


async def test_a_job_for_a_slow_endpoint_is_put_off_at_once_and_one_for_an_unknown_waits_a_round():
    gate = EndpointGate(limit=2, waiting_room=10, patience=0.1)
    async with gate.enter("wh_slow"):
        await asyncio.sleep(0.25)  # slower than the patience: its next turn is never soon
    assert gate._turn_expected_soon("wh_slow", 0) is False
    assert [gate._turn_expected_soon("wh_new", ahead) for ahead in range(3)] == [True, True, False]
    async with gate.enter("wh_fast"):
        pass
    assert gate._turn_expected_soon("wh_fast", 9) is True and gate._turn_expected_soon("wh_fast", 10) is False


async def test_a_job_cancelled_while_waiting_leaves_no_slot_behind():
    gate = EndpointGate(limit=1, waiting_room=1, patience=5)
    held = asyncio.Event()

    async def holder():
        async with gate.enter("wh_1"):
            await held.wait()

    async def waiter():
        async with gate.enter("wh_1"):
            pass

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    second = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    held.set()
    await first
    assert gate.running("wh_1") == 0 and gate.waiting("wh_1") == 0
    async with gate.enter("wh_1") as entered:
        assert entered
