"""A follower's wait for the log's wake-up always ends on a cancel, even one arriving in the
very turn the wake-up is set (what asyncio.wait_for on Python 3.11 swallows)."""

from __future__ import annotations

import asyncio

from eventlog.waiting import woken


async def follower(event: asyncio.Event, woke: list[bool]) -> None:
    while True:
        event.clear()
        woke.append(await woken(event, 1.0))


async def test_a_cancel_in_the_turn_of_a_wake_up_stops_the_follower() -> None:
    for _ in range(50):
        event, woke = asyncio.Event(), list[bool]()
        task = asyncio.create_task(follower(event, woke))
        await asyncio.sleep(0.001)
        event.set()
        await asyncio.sleep(0)  # the wait has its result, the follower has not run yet
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=0.5)
        assert done, "the follower ran on after its cancel"
        assert task.cancelled()


async def test_it_tells_a_wake_up_from_a_timeout() -> None:
    event = asyncio.Event()
    assert await woken(event, 0.01) is False
    event.set()
    assert await woken(event, 0.01) is True
