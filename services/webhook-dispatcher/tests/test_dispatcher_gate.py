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
    async with gate.enter("wh_slow"), gate.enter("wh_slow"):
        async with gate.enter("wh_slow") as late:
            assert late is False and gate.waiting("wh_slow") == 0  # put off without waiting
    async with gate.enter("wh_new"), gate.enter("wh_new"):
        waiters = [asyncio.create_task(_enter_and_leave(gate, "wh_new")) for _ in range(2)]
        await asyncio.sleep(0.01)
        assert gate.waiting("wh_new") == 2  # nothing known: one round of the endpoint's slots waits
        async with gate.enter("wh_new") as third:
            assert third is False and gate.waiting("wh_new") == 2
    assert await asyncio.gather(*waiters) == [True, True]
    async with gate.enter("wh_fast"):
        pass
    assert gate.expected_wait("wh_fast", 0.0) < 0.1  # a fast endpoint: up to the waiting room waits


async def _enter_and_leave(gate: EndpointGate, endpoint_id: str, due: float | None = None,
                           order: list[float] | None = None) -> bool:
    async with gate.enter(endpoint_id, due=due) as entered:
        if entered and order is not None:
            order.append(due)
        return entered


async def test_a_freed_slot_goes_to_the_job_due_the_longest_not_to_the_first_waiter():
    gate = EndpointGate(limit=1, waiting_room=4, patience=5)
    order: list[float] = []
    release = asyncio.Event()

    async def holder():
        async with gate.enter("wh_1"):
            await release.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    # Arriving in this order; the job due at 100 is one put off earlier, coming back.
    waiters = [asyncio.create_task(_enter_and_leave(gate, "wh_1", due, order)) for due in (300.0, 200.0, 100.0)]
    await asyncio.sleep(0.01)
    assert gate.waiting("wh_1") == 3
    release.set()
    await first
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert order == [100.0, 200.0, 300.0]


async def test_the_expected_wait_counts_the_waiters_due_before_the_job_only():
    gate = EndpointGate(limit=2, waiting_room=4, patience=5)
    async with gate.enter("wh_1"):
        await asyncio.sleep(0.05)
    pace = gate.expected_wait("wh_1", 0.0) * 2  # no waiter: one slot's share of an attempt
    async with gate.enter("wh_1"), gate.enter("wh_1"):
        waiters = [asyncio.create_task(_enter_and_leave(gate, "wh_1", due)) for due in (10.0, 20.0)]
        await asyncio.sleep(0.01)
        assert gate.expected_wait("wh_1", 5.0) == pytest.approx(pace / 2)
        assert gate.expected_wait("wh_1", 15.0) == pytest.approx(2 * pace / 2)
        assert gate.expected_wait("wh_1", 25.0) == pytest.approx(3 * pace / 2)
    await asyncio.gather(*waiters)


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
