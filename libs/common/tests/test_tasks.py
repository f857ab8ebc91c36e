"""cancel_and_wait: every task ends, even one that shrugs a cancellation off (Python 3.11's wait_for)."""

from __future__ import annotations

import asyncio

import pytest

from wagw_common.tasks import CancelledUnderUs, cancel_and_wait, cancellation_only_from_callers

pytestmark = pytest.mark.unit


async def test_a_task_that_lost_its_first_cancellation_is_cancelled_again_until_it_ends():
    cancellations = []

    async def stubborn():
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancellations.append(1)
                if len(cancellations) >= 3:
                    raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await cancel_and_wait([task], recancel_after=0.01)
    assert task.done() and len(cancellations) == 3


async def test_a_loop_bounded_by_wait_for_can_lose_its_cancellation_and_still_stops():
    async def beat():
        while True:
            await asyncio.wait_for(asyncio.sleep(0), 1)  # wait_for on purpose: the construct that loses cancellations

    for _ in range(50):
        task = asyncio.create_task(beat())
        await asyncio.sleep(0)
        await cancel_and_wait([task], recancel_after=0.01)
        assert task.done()


async def test_failures_are_not_raised_and_finished_tasks_are_accepted():
    async def fails():
        raise RuntimeError("boom")

    failed = asyncio.create_task(fails())
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(asyncio.sleep(3600))
    await cancel_and_wait({failed, finished, waiting})
    assert waiting.cancelled() and failed.done() and finished.done()


async def test_a_cancellation_nobody_asked_for_becomes_an_error_and_a_real_one_stays_a_cancellation():
    loop = asyncio.get_running_loop()

    async def publish(confirmation: asyncio.Future) -> None:
        with cancellation_only_from_callers("publish"):
            await confirmation

    closed_under_us = loop.create_future()
    task = asyncio.create_task(publish(closed_under_us))
    await asyncio.sleep(0)
    closed_under_us.cancel()  # what aiormq does to pending confirmations when it closes a channel
    with pytest.raises(CancelledUnderUs):
        await task
    assert isinstance(CancelledUnderUs("x"), ConnectionError)  # retried like the broker being away

    task = asyncio.create_task(publish(loop.create_future()))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_our_own_timeout_around_it_still_times_out():
    async def publish() -> None:
        async with asyncio.timeout(0.01):
            with cancellation_only_from_callers("publish"):
                await asyncio.sleep(3600)

    with pytest.raises(TimeoutError):
        await publish()
