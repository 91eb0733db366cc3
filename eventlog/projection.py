"""Batched projections: pages of the log -> read-model rows + tracking + pg_notify, one
transaction per page; and the rebuild from zero behind `olo replay NAME`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Mapper, StoredEvent

from eventlog.application import EVENTS_TABLE
from eventlog.database import Connection, DdlOnce, SchemaConnection
from eventlog.hub import change_payloads
from eventlog.waiting import woken

if TYPE_CHECKING:
    from eventlog.reader import LogReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    """A domain event with its position in the log."""

    position: int
    event: Any


class LogReads:
    """Queries of the log made by this process's followers of it (projections, policies,
    meter and dispatcher shards, the shared reader): bench/reader.py divides them by the
    batches committed meanwhile."""

    def __init__(self) -> None:
        self.queries = 0


LOG_READS = LogReads()


class LostTrackingError(Exception):
    """Another runner moved this projection's position: this one must stop."""


class Projection(Protocol):
    """A read model that follows the log."""

    name: str
    topics: frozenset[str]

    async def create_tables(self, conn: SchemaConnection) -> None: ...

    async def clear(self, conn: Connection) -> None: ...

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        """Write the page's rows; return what changed, by channel, as (key, data)."""
        ...


async def read_page(
    conn: Connection | asyncpg.Pool,
    mapper: Mapper[Any],
    after: int,
    limit: int,
    topics: frozenset[str],
) -> tuple[int, list[Recorded]]:
    """Events after `after` whose topic is wanted, and the last position read."""
    LOG_READS.queries += 1
    rows = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {EVENTS_TABLE} WHERE notification_id > $1 ORDER BY notification_id LIMIT $2",
        after,
        limit,
    )
    if not rows:
        return after, []
    decode = mapper.to_domain_event
    events = [
        Recorded(
            r[0],
            decode(StoredEvent(UUID(bytes=r[1].bytes), r[2], r[3], r[4])),
        )
        for r in rows
        if not topics or r[3] in topics
    ]
    return rows[-1][0], events


async def read_topics(
    conn: Connection | asyncpg.Pool,
    mapper: Mapper[Any],
    after: int,
    window: int,
    topics: frozenset[str],
) -> tuple[int, list[Recorded]]:
    """Events of the given topics among the next `window` positions, filtered in the
    database (a follower of a few topics need not fetch and decode the rest of the log), and
    the last position covered. Positions up to the highest visible one are final: inserts
    hold the table lock until they commit, so no lower position can appear later."""
    LOG_READS.queries += 1
    head = await conn.fetchval(f"SELECT max(notification_id) FROM {EVENTS_TABLE}")
    last = min(after + window, int(head or 0))
    if last <= after:
        return after, []
    LOG_READS.queries += 1
    rows = await conn.fetch(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        f"FROM {EVENTS_TABLE} WHERE notification_id > $1 AND notification_id <= $2 "
        "AND topic = ANY($3::text[]) ORDER BY notification_id",
        after,
        last,
        list(topics),
    )
    decode = mapper.to_domain_event
    return last, [
        Recorded(r[0], decode(StoredEvent(UUID(bytes=r[1].bytes), r[2], r[3], r[4]))) for r in rows
    ]


async def tracked_position(conn: Connection | asyncpg.Pool, name: str) -> int:
    await conn.execute(
        "INSERT INTO olo_tracking (name, position) VALUES ($1, 0) ON CONFLICT DO NOTHING", name
    )
    return int(await conn.fetchval("SELECT position FROM olo_tracking WHERE name = $1", name))


async def applied_position(conn: Connection | asyncpg.Pool, name: str) -> int:
    """How far projection `name` has applied the log (0 before it first ran)."""
    return int(
        await conn.fetchval(
            "SELECT coalesce(max(position), 0) FROM olo_tracking WHERE name = $1", name
        )
    )


async def make_tables(conn: Connection, projection: Projection) -> None:
    """Make what a read model lacks, locking no table for what it has (`DdlOnce`)."""
    await projection.create_tables(DdlOnce(conn))


class Watermark:
    """How far a projection has read the log, as last seen: waiting for it to reach a
    position costs a query only while it is behind."""

    def __init__(self, pool: asyncpg.Pool, name: str) -> None:
        self._pool = pool
        self._name = name
        self.known = 0

    async def reached(self, position: int, *, within: float, poll: float = 0.02) -> bool:
        """Wait up to `within` seconds until the projection has applied `position`."""
        deadline = time.monotonic() + within
        while self.known < position:
            self.known = await applied_position(self._pool, self._name)
            if self.known < position:
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(poll)
        return True


async def advance_tracking(conn: Connection, name: str, old: int, new: int) -> None:
    """Move the position from old to new, or fail if someone else moved it."""
    moved = await conn.fetchval(
        "UPDATE olo_tracking SET position = $3, updated_at = now() "
        "WHERE name = $1 AND position = $2 RETURNING position",
        name,
        old,
        new,
    )
    if moved is None:
        raise LostTrackingError(f"{name}: position is no longer {old}")


class ProjectionRunner:
    """Follows the log for one projection, a page per transaction."""

    def __init__(
        self,
        projection: Projection,
        pool: asyncpg.Pool,
        mapper: Mapper[Any],
        *,
        page_size: int = 2000,
    ) -> None:
        self.projection = projection
        self._pool = pool
        self._mapper = mapper
        self.page_size = page_size
        self.position = 0

    @property
    def name(self) -> str:
        return self.projection.name

    async def prepare(self) -> None:
        async with self._pool.acquire() as conn:
            await make_tables(conn, self.projection)
            self.position = await tracked_position(conn, self.projection.name)

    async def run_page(self) -> int:
        """Apply the next page; return how many notifications it covered (0 at the head)."""
        async with self._pool.acquire() as conn, conn.transaction():
            start = self.position
            last, events = await read_page(
                conn, self._mapper, start, self.page_size, self.projection.topics
            )
            if last == start:
                return 0
            await self._write(conn, start, last, events)
        self.position = last
        return last - start

    async def take_page(self, last: int, events: Sequence[Recorded]) -> None:
        """Apply a page the log reader read (its rows and tracking in one transaction)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await self._write(conn, self.position, last, events)
        self.position = last

    async def _write(
        self, conn: Connection, start: int, last: int, events: Sequence[Recorded]
    ) -> None:
        # Tracking first: a second runner on the same position waits on this row lock,
        # then fails here, before it has written anything.
        await advance_tracking(conn, self.projection.name, start, last)
        changes = await self.projection.apply(conn, events) if events else {}
        for channel, items in changes.items():
            for payload in change_payloads(last, items):
                await conn.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def catch_up(self, progress: Callable[[int], None] | None = None) -> None:
        while (covered := await self.run_page()) > 0:
            if progress:
                progress(covered)

    async def follow(
        self,
        wakeup: asyncio.Event,
        reader: LogReader | None = None,
        *,
        idle_seconds: float = 1.0,
        gather_seconds: float = 0.01,
    ) -> None:
        """Run until cancelled: catch up, then wait for the log's NOTIFY (or a timeout); or,
        given the process's log reader, be fed by it once level."""
        await self.prepare()
        if reader is not None:
            await reader.follow(self, self.projection.topics)
            return
        while True:
            wakeup.clear()
            await self.catch_up()
            if await woken(wakeup, idle_seconds):
                # A busy log notifies thousands of times a second: reading once per
                # notification meant a transaction per handful of events. A short wait
                # gathers them into one page.
                await asyncio.sleep(gather_seconds)


async def rebuild(
    runner: ProjectionRunner,
    pool: asyncpg.Pool,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Drop a projection's rows and position and build it again from the first event."""
    async with pool.acquire() as conn:
        await make_tables(conn, runner.projection)
        async with conn.transaction():
            await runner.projection.clear(conn)
            await conn.execute(
                "INSERT INTO olo_tracking (name, position) VALUES ($1, 0) "
                "ON CONFLICT (name) DO UPDATE SET position = 0",
                runner.projection.name,
            )
    runner.position = 0
    await runner.catch_up(progress)


def as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
