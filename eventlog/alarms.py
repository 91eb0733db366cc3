"""Alarms: the wake-up times of many things (calls, notifications) kept by one task, with
the work they start run in a bounded pool of tasks, next to a follower of the log that
sets them. The call meter and the notification dispatcher are built on it."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from eventlog.clock import Clock
from eventlog.waiting import woken

K = TypeVar("K")
Job = Callable[[], Awaitable[None]]


class Alarms(Generic[K]):
    def __init__(self, clock: Clock, *, concurrency: int, drain_seconds: float = 0.0) -> None:
        """`drain_seconds`: when stopped, how long work under way may take to finish before
        it is cancelled (a push at a provider is better finished than left in doubt)."""
        self._clock = clock
        self._drain_seconds = drain_seconds
        self._heap: list[tuple[float, int, K]] = []
        self._order = itertools.count()
        self._changed = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    def set(self, key: K, when: float) -> None:
        """Wake for `key` at `when` (earlier alarms of the key stay: `due` tells them apart)."""
        heapq.heappush(self._heap, (when, next(self._order), key))
        self._changed.set()

    async def run(
        self,
        due: Callable[[K, float], Job | None],
        *,
        follow: Callable[[], Awaitable[None]],
        wakeup: asyncio.Event,
    ) -> None:
        """Until cancelled: `follow` the log on every wake-up (or each second) while alarms
        fire. At an alarm `due(key, when)` gives the work to start, or None for a stale one;
        when the pool is full the alarms wait, they are not dropped."""
        timers = asyncio.create_task(self._fire(due), name="alarms")
        try:
            while True:
                wakeup.clear()
                await follow()
                await woken(wakeup, 1.0)
        finally:
            timers.cancel()
            if self._tasks and self._drain_seconds > 0:
                await asyncio.wait(set(self._tasks), timeout=self._drain_seconds)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(timers, *self._tasks, return_exceptions=True)

    async def _fire(self, due: Callable[[K, float], Job | None]) -> None:
        while True:
            self._changed.clear()
            now = self._clock.now()
            while self._heap and self._heap[0][0] <= now:
                when, _, key = heapq.heappop(self._heap)
                job = due(key, when)
                if job is None:
                    continue
                await self._slots.acquire()
                task = asyncio.create_task(self._pooled(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if not self._heap:
                await self._changed.wait()
                continue
            sleeper = asyncio.ensure_future(self._clock.sleep_until(self._heap[0][0]))
            changed = asyncio.ensure_future(self._changed.wait())
            await asyncio.wait({sleeper, changed}, return_when=asyncio.FIRST_COMPLETED)
            sleeper.cancel()
            changed.cancel()

    async def _pooled(self, job: Job) -> None:
        try:
            await job()
        finally:
            self._slots.release()
