"""One reader of the log per worker process: each new page is read once (one query),
decoded once, and handed to every job this process leads that is level with it
(projections, policies, meter and dispatcher shards). Each job keeps its own position, its
own transaction and its own leadership; the reader only saves it the query and the decoding.

A job that is behind (just led, restarted, rebuilt) reads on its own, through its own read
path, until it is level with the reader, and joins it then. A job that cannot keep up is
bounded by its buffer of pages: when the buffer is full it is dropped, the others go on, and
it reads on its own again until it is level.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import asyncpg
from eventsourcing.persistence import Mapper, StoredEvent

from eventlog.application import EVENTS_TABLE
from eventlog.followers import Backoff, FollowerHealth, first_unapplied
from eventlog.projection import LOG_READS, LostTrackingError, Recorded
from eventlog.waiting import woken

log = logging.getLogger(__name__)


@runtime_checkable
class Paged(Protocol):
    """A job that reads on its own in pages of `page_size` notifications."""

    page_size: int


class Follower(Protocol):
    """A job that follows the log from a position of its own."""

    position: int

    async def run_page(self) -> int:
        """Read the next page on its own and apply it; how many positions it covered."""
        ...

    async def take_page(self, last: int, events: Sequence[Recorded]) -> None:
        """Apply events read for it (of its topics, after its position) and move to `last`."""
        ...


@dataclass(frozen=True)
class Page:
    """Positions (after, last] of the log: the events of them some job wanted, by topic."""

    after: int
    last: int
    events: list[tuple[str, Recorded]]

    def events_for(self, topics: frozenset[str], position: int) -> list[Recorded]:
        return [r for t, r in self.events if r.position > position and (not topics or t in topics)]


class Feed:
    """One job's place at the reader: the pages handed to it and not yet taken."""

    def __init__(
        self, reader: LogReader, job: Follower, topics: frozenset[str], capacity: int
    ) -> None:
        self.job = job
        self.topics = topics
        self.ready = asyncio.Event()  # a page was handed over, or the feed was dropped
        self._full_page = 0  # a paged job's page size before a failure narrowed it
        self.health = FollowerHealth(getattr(job, "name", type(job).__name__), job)
        self.joined = False
        self.own_pages = 0  # pages the job read on its own
        self.fed_pages = 0  # pages the reader read for it
        self.overflows = 0
        self._reader = reader
        self._capacity = capacity
        self._pages: deque[Page] = deque()

    def offer(self, page: Page) -> None:
        if len(self._pages) >= self._capacity:
            # Holding the page would hold the reader (or grow without bound): the job reads
            # on its own until it is level again.
            self.overflows += 1
            log.info("%s fell %d pages behind the log reader", self._name, self._capacity)
            self._reader.leave(self)
            return
        self._pages.append(page)
        self.ready.set()

    def dropped(self) -> None:
        self.joined = False
        self._pages.clear()
        self.ready.set()

    async def catch_up(self) -> None:
        """Bring the job level with the log; a failing page is tried again, with backoff,
        until it applies (only a lost tracking position, or a cancel, ends the job)."""
        while True:
            try:
                await self._catch_up()
            except (LostTrackingError, asyncio.CancelledError):
                raise
            except Exception as error:
                self._reader.leave(self)  # the pages it was handed are read again, on its own
                self._narrow()
                failing_at = await first_unapplied(
                    self._reader.pool, self.job.position, self.topics
                )
                await asyncio.sleep(self.health.failed(failing_at, error, self._reader.backoff))
                continue
            self.health.level()
            if isinstance(self.job, Paged) and self._full_page:  # level: full pages again
                self.job.page_size = max(self.job.page_size, self._full_page)
            return

    async def _catch_up(self) -> None:
        """Its own reads while it is behind the reader, then the pages the reader handed it."""
        while True:
            if not self.joined:
                while await self.job.run_page() > 0:
                    self.own_pages += 1
                    self._widen()
                if not self._reader.join(self):
                    continue  # the reader has read further meanwhile: read on
            if not self._pages:
                return
            await self._take()

    def _narrow(self) -> None:
        """After a failed page, read one notification at a time: what precedes the failing
        event is applied, and the position it fails at is that event's."""
        if isinstance(self.job, Paged):
            self._full_page = max(self._full_page, self.job.page_size)
            self.job.page_size = 1

    def _widen(self) -> None:
        """Each page applied doubles the page again, up to its size before the failure."""
        if isinstance(self.job, Paged) and self.job.page_size < self._full_page:
            self.job.page_size = min(self._full_page, self.job.page_size * 2)

    async def _take(self) -> None:
        pages, self._pages = self._pages, deque()
        position = self.job.position
        if pages[-1].last <= position:
            return  # it had read these on its own already
        if pages[0].after > position:
            self._reader.leave(self)  # a hole between its position and the pages: read it
            return
        # The reader's pages follow one another, so the job takes them in one go.
        events = [r for page in pages for r in page.events_for(self.topics, position)]
        await self.job.take_page(pages[-1].last, events)
        self.fed_pages += len(pages)

    @property
    def _name(self) -> str:
        return self.health.name


class LogReader:
    """Reads the log once for every job of this process that is level with it."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        mapper: Mapper[Any],
        *,
        page_size: int = 2000,
        buffer_pages: int = 16,
        idle_seconds: float = 1.0,
        gather_seconds: float = 0.01,
        backoff: Backoff | None = None,
    ) -> None:
        self._pool = self.pool = pool
        self.backoff = backoff or Backoff()
        self.followers: dict[str, FollowerHealth] = {}  # of the jobs following the log now
        self._mapper = mapper
        self._page_size = page_size
        self._buffer_pages = buffer_pages
        self._idle = idle_seconds
        self._gather = gather_seconds
        self._feeds: set[Feed] = set()
        self._wanted: frozenset[str] | None = frozenset()  # None: every topic
        self.head: int | None = None  # the last position read (None: no job joined)
        self.pages = 0

    @property
    def jobs(self) -> list[Follower]:
        """The jobs it feeds now (level with it)."""
        return [f.job for f in self._feeds]

    @contextlib.contextmanager
    def feed(self, job: Follower, topics: frozenset[str]) -> Iterator[Feed]:
        """A feed for `job` (registered while level), left when the job stops."""
        feed = Feed(self, job, topics, self._buffer_pages)
        self.followers[feed.health.name] = feed.health
        try:
            yield feed
        finally:
            self.leave(feed)
            if self.followers.get(feed.health.name) is feed.health:
                del self.followers[feed.health.name]

    async def follow(self, job: Follower, topics: frozenset[str]) -> None:
        """Run `job` until cancelled: level with the log, then fed page by page."""
        with self.feed(job, topics) as feed:
            while True:
                feed.ready.clear()
                await feed.catch_up()
                await feed.ready.wait()

    def join(self, feed: Feed) -> bool:
        """Feed it from now on if it is level (or ahead): pages it read already are skipped."""
        position = feed.job.position
        if self.head is None:
            self.head = position  # nobody was following: start where this job is
        elif position < self.head:
            return False
        feed.joined = True
        self._feeds.add(feed)
        self._wanted = self._topics()
        return True

    def leave(self, feed: Feed) -> None:
        feed.dropped()
        self._feeds.discard(feed)
        self._wanted = self._topics()
        if not self._feeds:
            self.head = None  # a job joining later starts the reader where it is

    def _topics(self) -> frozenset[str] | None:
        if any(not f.topics for f in self._feeds):
            return None
        return frozenset().union(*(f.topics for f in self._feeds))

    async def run(self, wakeup: asyncio.Event) -> None:
        """Until cancelled: read each new page, woken by the log's NOTIFY (or each second)."""
        log.info("one log reader follows the log for the jobs this process leads")
        while True:
            wakeup.clear()
            try:
                await self.read_new_pages()
            except Exception:  # the jobs wait meanwhile; they are fed again once it reads
                log.warning("the log reader could not read the log", exc_info=True)
            if await woken(wakeup, self._idle):
                # A busy log notifies thousands of times a second: a short wait gathers the
                # notifications into one page.
                await asyncio.sleep(self._gather)

    async def run_alongside(self, wakeup: asyncio.Event, work: Awaitable[None]) -> None:
        """Follow the log while `work` (this process's leadership of its jobs) runs."""
        reading = asyncio.create_task(self.run(wakeup), name="log-reader")
        try:
            await work
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)

    async def read_new_pages(self) -> None:
        """Read the log up to its head, a page at a time, handing each page out."""
        while self.head is not None:
            after = self.head
            LOG_READS.queries += 1
            rows = await self._pool.fetch(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {EVENTS_TABLE} WHERE notification_id > $1 "
                "ORDER BY notification_id LIMIT $2",
                after,
                self._page_size,
            )
            if self.head != after:
                continue  # every job left meanwhile, and one joined elsewhere in the log
            if not rows:
                return
            page = self._decode(after, rows)
            self.head = page.last
            self.pages += 1
            for feed in list(self._feeds):
                feed.offer(page)
            if len(rows) < self._page_size:
                return

    def _decode(self, after: int, rows: list[asyncpg.Record]) -> Page:
        decode, wanted = self._mapper.to_domain_event, self._wanted
        events = [
            (r[3], Recorded(r[0], decode(StoredEvent(UUID(bytes=r[1].bytes), r[2], r[3], r[4]))))
            for r in rows
            if wanted is None or r[3] in wanted
        ]
        return Page(after, rows[-1][0], events)
