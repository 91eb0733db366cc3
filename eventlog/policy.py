"""Policies: cross-domain reactions that follow the log with tracking.

A policy's effects are commands on the log whose aggregates have deterministic ids (or
idempotency keys), so applying an event twice — after a crash between the effect and the
tracking update, or on a replay — changes nothing the second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Mapper

from eventlog.projection import Recorded, advance_tracking, read_page, tracked_position
from eventlog.reader import LogReader
from eventlog.waiting import woken


class Policy(Protocol):
    """`concurrency` (optional, default 1): how many aggregates' events of a page may be
    handled at once, for a policy whose reactions to different aggregates are independent;
    one aggregate's events are always handled in log order."""

    name: str
    topics: frozenset[str]

    async def handle(self, event: Any, position: int) -> None:
        """React to one event; must be idempotent."""
        ...


class PolicyRunner:
    """Follows the log for one policy: effects first, then the tracking position."""

    def __init__(
        self, policy: Policy, pool: asyncpg.Pool, mapper: Mapper[Any], *, page_size: int = 500
    ) -> None:
        self.policy = policy
        self._pool = pool
        self._mapper = mapper
        self.page_size = page_size
        self.position = 0

    @property
    def name(self) -> str:
        return self.policy.name

    async def prepare(self) -> None:
        self.position = await tracked_position(self._pool, self.policy.name)

    async def run_page(self) -> int:
        start = self.position
        last, events = await read_page(
            self._pool, self._mapper, start, self.page_size, self.policy.topics
        )
        if last == start:
            return 0
        await self.take_page(last, events)
        return last - start

    async def take_page(self, last: int, events: Sequence[Recorded]) -> None:
        """Handle a page's events, then track it (a crash between the two repeats only
        idempotent effects)."""
        await self._handle(events)
        async with self._pool.acquire() as conn:
            await advance_tracking(conn, self.policy.name, self.position, last)
        self.position = last

    async def _handle(self, events: Sequence[Recorded]) -> None:
        width = getattr(self.policy, "concurrency", 1)
        if width <= 1:
            for recorded in events:
                await self.policy.handle(recorded.event, recorded.position)
            return
        chains: dict[UUID, list[Recorded]] = {}
        for recorded in events:
            chains.setdefault(recorded.event.originator_id, []).append(recorded)
        slots = asyncio.Semaphore(width)

        async def handle(chain: list[Recorded]) -> None:
            async with slots:
                for recorded in chain:
                    await self.policy.handle(recorded.event, recorded.position)

        # A failure cancels the rest; the page is not tracked and runs again, idempotently.
        async with asyncio.TaskGroup() as group:
            for chain in chains.values():
                group.create_task(handle(chain))

    async def follow(
        self,
        wakeup: asyncio.Event,
        reader: LogReader | None = None,
        *,
        idle_seconds: float = 1.0,
        gather_seconds: float = 0.01,
    ) -> None:
        await self.prepare()
        if reader is not None:
            await reader.follow(self, self.policy.topics)
            return
        while True:
            wakeup.clear()
            while await self.run_page() > 0:
                pass
            if await woken(wakeup, idle_seconds):
                # A busy log notifies thousands of times a second: reading once per
                # notification meant a transaction per handful of events. A short wait
                # gathers them into one page.
                await asyncio.sleep(gather_seconds)
