"""Waiting for an event with a timeout, in a way a cancel always ends."""

from __future__ import annotations

import asyncio


async def woken(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set (True) or `seconds` have passed (False).

    Not `asyncio.wait_for(event.wait(), seconds)`: on Python 3.11, a cancel that arrives in
    the turn the event is set is swallowed there (wait_for returns the result instead of
    raising; CPython gh-86296, fixed in 3.12). A follower waiting so on a busy log, woken on
    every commit, then ran on after its cancel: a job handed back to another worker was never
    stopped, and a worker asked to stop never did. `asyncio.timeout` keeps the cancel.
    """
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
