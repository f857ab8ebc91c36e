"""cancel_and_wait: every task ends, even one that shrugs a cancellation off (Python 3.11's wait_for)."""

from __future__ import annotations

import asyncio

import pytest

from wagw_common.tasks import cancel_and_wait

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
