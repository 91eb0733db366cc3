"""The worker's one log reader on real PostgreSQL: a page read once for every job level with
it; a job behind reads on its own, then joins; a slow job overflows its buffer, reads on its
own and joins again; a job that fails retries alone and leaves the others fed; each job gets
only its topics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

import asyncpg

from app import Olo
from domains.balance.projection import BalanceProjection
from eventlog.followers import Backoff
from eventlog.projection import LOG_READS, ProjectionRunner, Recorded, read_page, rebuild
from eventlog.reader import LogReader

REGISTERED = "olo.profile:User.Registered"
CREDITED = "olo.balance:Account.Credited"


class Recording:
    """A job that notes every event it is given, by position, and how it got it."""

    def __init__(self, olo: Olo, name: str, topics: frozenset[str] = frozenset()) -> None:
        self.name = name
        self.topics = topics
        self.position = 0
        self.seen: list[int] = []
        self.fed: list[int] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_at: int | None = None
        self.level: asyncio.Event | None = None
        self.resume = asyncio.Event()
        self._olo = olo

    async def run_page(self) -> int:
        start = self.position
        last, events = await read_page(
            self._olo.pool, self._olo.event_log.mapper, start, 3, self.topics
        )
        self._refuse(events)
        self._note(last, events)
        if last == start and self.level is not None:
            level, self.level = self.level, None
            level.set()
            await self.resume.wait()  # level as it read, while the log and the reader go on
        return last - start

    async def take_page(self, last: int, events: Sequence[Recorded]) -> None:
        await self.gate.wait()
        self._refuse(events)
        self.fed += [r.position for r in events]
        self._note(last, events)

    def _refuse(self, events: Sequence[Recorded]) -> None:
        if self.fail_at is not None and any(r.position >= self.fail_at for r in events):
            raise RuntimeError(f"{self.name} cannot apply position {self.fail_at}")

    def _note(self, last: int, events: Sequence[Recorded]) -> None:
        assert all(r.position > self.position for r in events)
        self.seen += [r.position for r in events]
        self.position = last


async def head(pg: asyncpg.Connection) -> int:
    return int(await pg.fetchval("SELECT coalesce(max(notification_id), 0) FROM eventlog_events"))


async def positions(pg: asyncpg.Connection, topics: frozenset[str] = frozenset()) -> list[int]:
    rows = await pg.fetch(
        "SELECT notification_id, topic FROM eventlog_events ORDER BY notification_id"
    )
    return [r[0] for r in rows if not topics or r[1] in topics]


async def eventually(condition: Callable[[], bool], what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting until {what}")


@contextlib.asynccontextmanager
async def following(reader: LogReader, *jobs: Recording) -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks = [asyncio.create_task(reader.follow(job, job.topics)) for job in jobs]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def activity(olo: Olo, n: int, label: str) -> None:
    for i in range(n):
        user = await olo.services.profiles.register(f"{label}-{i}")
        await olo.services.balance.grant(user, 10, key=f"grant/{label}/{i}")


async def test_a_job_behind_reads_on_its_own_then_joins_and_each_page_is_read_once(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    reader = LogReader(olo.pool, olo.event_log.mapper)
    ahead, behind = Recording(olo, "ahead"), Recording(olo, "behind")
    async with following(reader, ahead):
        await eventually(lambda: reader.jobs == [ahead], "the first job joined")
        await activity(olo, 4, "early")
        await reader.read_new_pages()
        await eventually(lambda: ahead.position == reader.head, "the first job is fed")
        assert ahead.fed != [] and ahead.seen == await positions(pg)

        async with following(reader, behind):
            # pages of three on its own up to the reader's head, then fed by the reader
            await eventually(lambda: behind.position == reader.head, "the second caught up")
            assert behind.fed == [] and behind.seen == await positions(pg)
            assert len(reader.jobs) == 2
            reads = LOG_READS.queries
            await activity(olo, 3, "late")
            await reader.read_new_pages()
            await eventually(
                lambda: ahead.position == behind.position == reader.head, "both are fed"
            )
            assert LOG_READS.queries - reads == 1  # one page, read once for both
            assert reader.head == await head(pg)
    everything = await positions(pg)
    assert ahead.seen == behind.seen == everything
    assert behind.fed == everything[len(everything) - len(behind.fed) :] != []


async def test_a_job_the_reader_passed_as_it_came_level_reads_on_before_it_joins(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    reader = LogReader(olo.pool, olo.event_log.mapper)
    ahead, late = Recording(olo, "ahead"), Recording(olo, "late")
    async with following(reader, ahead):
        await eventually(lambda: reader.jobs == [ahead], "the first job joined")
        await activity(olo, 2, "early")
        await reader.read_new_pages()
        late.level = asyncio.Event()
        async with following(reader, late):
            await asyncio.wait_for(late.level.wait(), timeout=5)
            await activity(olo, 2, "meanwhile")
            await reader.read_new_pages()  # the reader passes the late job's last read
            assert late.position < (reader.head or 0)
            late.resume.set()
            await eventually(lambda: late.position == reader.head, "the late job read on")
            await activity(olo, 1, "after")
            await reader.read_new_pages()
            await eventually(lambda: late.position == ahead.position == reader.head, "fed")
            assert late in reader.jobs and late.fed != []
    assert late.seen == ahead.seen == await positions(pg)


async def test_a_slow_job_overflows_its_buffer_reads_on_its_own_then_joins_again(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    reader = LogReader(olo.pool, olo.event_log.mapper, page_size=4, buffer_pages=2)
    slow, quick = Recording(olo, "slow"), Recording(olo, "quick")
    async with following(reader, slow, quick):
        await eventually(lambda: len(reader.jobs) == 2, "both joined")
        slow.gate.clear()  # slow takes its first page and sits on it
        start = slow.position
        await activity(olo, 8, "burst")
        await reader.read_new_pages()  # pages of four: far more than two handed out
        assert reader.pages >= 8
        await eventually(lambda: reader.jobs == [quick], "the slow one was dropped")
        assert quick.position == reader.head and quick.seen == await positions(pg)
        assert slow.position == start

        slow.gate.set()
        await eventually(lambda: slow.position == reader.head, "the slow one caught up")
        assert 0 < len(slow.fed) < len(slow.seen)  # a page or two fed, the rest on its own
        assert slow.seen == await positions(pg)
        await eventually(lambda: slow in reader.jobs, "it joined again")

        fed_before = len(slow.fed)
        await activity(olo, 1, "after")
        await reader.read_new_pages()
        await eventually(lambda: slow.position == quick.position == reader.head, "both fed")
        assert len(slow.fed) > fed_before
    assert slow.seen == quick.seen == await positions(pg)


async def test_a_job_that_fails_a_page_retries_alone_and_catches_up_once_it_can(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    reader = LogReader(olo.pool, olo.event_log.mapper, backoff=Backoff(0.05, 0.2))
    failing, steady = Recording(olo, "failing"), Recording(olo, "steady")
    async with following(reader, failing, steady) as (failing_task, _):
        await eventually(lambda: len(reader.jobs) == 2, "both joined")
        failing.fail_at = 1
        await activity(olo, 2, "first")
        await reader.read_new_pages()
        health = reader.followers["failing"]
        await eventually(lambda: health.retries >= 3, "it retried with backoff")
        assert not failing_task.done()  # it does not die (leadership would only restart it)
        assert (failing.position, health.failing_at) == (0, 1)
        await eventually(lambda: steady.position == reader.head, "the other job is fed")

        await activity(olo, 2, "second")
        await reader.read_new_pages()
        await eventually(lambda: steady.position == reader.head, "the other is still fed")
        assert reader.jobs == [steady]  # the failing one reads on its own while it retries

        failing.fail_at = None  # the failure stops: it catches up from its own position
        await eventually(lambda: failing.position == reader.head, "it caught up")
        await eventually(lambda: health.failing_at is None, "it is healthy again")
    assert failing.seen == steady.seen == await positions(pg)
    assert reader.followers == {}  # jobs that stopped are no longer reported


async def test_each_job_gets_only_its_topics_and_tracks_every_position(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    reader = LogReader(olo.pool, olo.event_log.mapper)
    users = Recording(olo, "users", frozenset({REGISTERED}))
    credits = Recording(olo, "credits", frozenset({CREDITED}))
    nothing = Recording(olo, "nothing", frozenset({"olo.nowhere:Never.Written"}))
    async with following(reader, users, credits, nothing):
        await eventually(lambda: len(reader.jobs) == 3, "all joined")
        await activity(olo, 3, "topics")
        await reader.read_new_pages()
        last = await head(pg)
        await eventually(
            lambda: users.position == credits.position == nothing.position == last,
            "every job's position reached the last position read, matched or not",
        )
    assert users.fed == await positions(pg, users.topics) != []
    assert credits.fed == await positions(pg, credits.topics) != []
    assert nothing.seen == []


async def test_a_projection_fed_by_the_reader_equals_one_that_read_on_its_own(
    olo: Olo, pg: asyncpg.Connection
) -> None:
    reader = LogReader(olo.pool, olo.event_log.mapper, page_size=5)
    runner = ProjectionRunner(BalanceProjection(), olo.pool, olo.event_log.mapper)
    wakeup = asyncio.Event()
    task = asyncio.create_task(runner.follow(wakeup, reader))
    try:
        await activity(olo, 2, "before")  # read on its own
        await eventually(lambda: reader.head is not None, "the projection joined")
        await activity(olo, 5, "fed")
        await reader.read_new_pages()
        await eventually(lambda: runner.position == reader.head, "the projection is fed")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    fed = await pg.fetch("SELECT * FROM balance_history ORDER BY account_id, version")
    tracked = await pg.fetchval("SELECT position FROM olo_tracking WHERE name = 'balance'")
    assert tracked == await head(pg)
    assert len(fed) >= 7  # one credit of a wallet per grant at least
    await rebuild(ProjectionRunner(BalanceProjection(), olo.pool, olo.event_log.mapper), olo.pool)
    assert await pg.fetch("SELECT * FROM balance_history ORDER BY account_id, version") == fed
    assert await olo.services.balance_queries.ledger_total() == 0
