"""Leadership by advisory locks: one leader per job, a hot standby takes over when the
leader's session dies, and a failed job is taken again."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

import asyncpg

from app import Olo, start
from eventlog.leadership import Leadership
from eventlog.settings import Settings

JOBS = ("projection:a", "projection:b", "policy:c")
POLL = 0.2


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


class Jobs:
    """Jobs that run forever and record which worker runs them, and which were cancelled."""

    def __init__(self) -> None:
        self.running: dict[str, set[str]] = defaultdict(set)
        self.cancelled: set[tuple[str, str]] = set()
        self.beats: dict[str, int] = defaultdict(int)

    def job(self, worker: str, name: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            self.running[name].add(worker)
            try:
                while True:  # a follower's loop: work, wait, work ...
                    self.beats[name] += 1
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                self.cancelled.add((worker, name))
                raise
            finally:
                self.running[name].discard(worker)

        return run


def worker(database_url: str, name: str, jobs: Jobs) -> Leadership:
    leadership = Leadership(database_url, poll_seconds=POLL)
    for job in JOBS:
        leadership.add(job, jobs.job(name, job))
    return leadership


async def stop(*tasks: asyncio.Task[None]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def assert_one_leader_each(workers: dict[str, Leadership], jobs: Jobs) -> None:
    for job in JOBS:
        leaders = {name for name, w in workers.items() if job in w.leading}
        assert len(leaders) == 1, (job, leaders)
        assert jobs.running[job] == leaders, (job, jobs.running[job], leaders)


async def sample(workers: dict[str, Leadership], jobs: Jobs, seconds: float) -> None:
    for _ in range(int(seconds / 0.05)):
        await asyncio.sleep(0.05)  # lets a job that was just led start running
        assert_one_leader_each(workers, jobs)


async def test_a_standby_takes_over_when_the_leaders_session_dies(
    database_url: str, pg: asyncpg.Connection
) -> None:
    jobs = Jobs()
    workers = {"w1": worker(database_url, "w1", jobs), "w2": worker(database_url, "w2", jobs)}
    tasks = [asyncio.create_task(w.run()) for w in workers.values()]
    try:
        await wait_until(
            lambda: all(any(j in w.leading for w in workers.values()) for j in JOBS),
            "every job has a leader",
        )
        await sample(workers, jobs, 2.0)
        first = next(n for n, w in workers.items() if JOBS[0] in w.leading)
        second = "w2" if first == "w1" else "w1"
        led_by_first = set(workers[first].leading)
        killed = workers[first].backend_pid

        assert await pg.fetchval("SELECT pg_terminate_backend($1)", killed)

        await wait_until(
            lambda: workers[second].leading == set(JOBS) and not workers[first].leading,
            "the standby leads every job",
        )
        assert {(first, j) for j in led_by_first} <= jobs.cancelled
        await wait_until(
            lambda: workers[first].backend_pid not in (None, killed), "the first reconnects"
        )
        beats = dict(jobs.beats)
        await sample(workers, jobs, 1.0)
        assert all(jobs.beats[j] > beats[j] for j in JOBS)  # the new leader's jobs do work
        assert workers[first].leading == set()
        assert all(jobs.running[j] == {second} for j in JOBS)
    finally:
        await stop(*tasks)
    assert not any(jobs.running.values())


async def test_a_worker_that_shuts_down_hands_its_jobs_to_the_standby(
    database_url: str,
) -> None:
    jobs = Jobs()
    w1, w2 = worker(database_url, "w1", jobs), worker(database_url, "w2", jobs)
    t1 = asyncio.create_task(w1.run())
    t2: asyncio.Task[None] | None = None
    try:
        await wait_until(lambda: w1.leading == set(JOBS), "w1 leads every job")
        t2 = asyncio.create_task(w2.run())
        await wait_until(lambda: w2.backend_pid is not None, "w2 stands by")
        await sample({"w1": w1, "w2": w2}, jobs, 0.5)

        await stop(t1)

        assert {("w1", j) for j in JOBS} <= jobs.cancelled
        await wait_until(lambda: all(jobs.running[j] == {"w2"} for j in JOBS), "w2 runs every job")
        assert w2.leading == set(JOBS)
    finally:
        await stop(t1, *([t2] if t2 else []))


async def test_a_job_that_fails_is_released_and_taken_again(database_url: str) -> None:
    attempts: list[int] = []
    steady_starts: list[int] = []

    async def flaky() -> None:
        attempts.append(len(attempts) + 1)
        if len(attempts) < 3:
            raise RuntimeError("projection crashed")
        await asyncio.Event().wait()

    async def steady() -> None:
        steady_starts.append(1)
        await asyncio.Event().wait()

    leadership = Leadership(database_url, poll_seconds=POLL)
    leadership.add("flaky", flaky)
    leadership.add("steady", steady)
    task = asyncio.create_task(leadership.run())
    try:
        await wait_until(
            lambda: len(attempts) == 3 and leadership.leading == {"flaky", "steady"},
            "the failed job runs again",
        )
        assert len(steady_starts) == 1  # a failing neighbour does not disturb other jobs
    finally:
        await stop(task)
    assert leadership.leading == set()


def leaders_of(job: str, *olos: Olo) -> list[Olo]:
    return [o for o in olos if o.leadership is not None and job in o.leadership.leading]


async def wait_for_coins(olo: Olo, user: Any, coins: int) -> None:
    queries = olo.services.balance_queries
    deadline = asyncio.get_running_loop().time() + 10
    while (await queries.balance(user)).coins != coins:
        assert asyncio.get_running_loop().time() < deadline, f"balance never reached {coins}"
        await asyncio.sleep(0.05)


async def test_the_standby_worker_projects_purchases_after_the_leader_dies(
    settings: Settings, database_url: str, pg: asyncpg.Connection
) -> None:
    first = await start(settings, database_url)
    second = await start(settings, database_url)
    try:
        first.start_worker()
        await wait_until(lambda: len(leaders_of("balance", first)) == 1, "first leads")
        second.start_worker()
        leader, standby = first.leadership, second.leadership
        assert leader is not None and standby is not None
        await wait_until(lambda: standby.backend_pid is not None, "second stands by")
        ann = await first.services.profiles.register("ann")
        await first.services.payments.purchase_coins(
            ann, pack_id="coins_100", store="sandbox", receipt="t-1"
        )
        await wait_for_coins(second, ann, 100)
        assert leaders_of("balance", first, second) == [first]

        assert await pg.fetchval("SELECT pg_terminate_backend($1)", leader.backend_pid)
        await second.services.payments.purchase_coins(
            ann, pack_id="coins_550", store="sandbox", receipt="t-2"
        )

        await wait_for_coins(first, ann, 650)
        await wait_until(
            lambda: leaders_of("balance", first, second) == [second], "second leads balance"
        )
        history = await first.services.balance_queries.history(ann)
        assert [(e.delta, e.reason) for e in history] == [(550, "purchase"), (100, "purchase")]
        assert await first.services.balance_queries.ledger_total() == 0
    finally:
        await second.close()
        await first.close()


async def test_shards_are_shared_out_and_taken_back(database_url: str) -> None:
    shards = [f"meter:{k}" for k in range(4)]
    jobs = Jobs()

    def sharded(name: str) -> Leadership:
        leadership = Leadership(database_url, poll_seconds=POLL)
        for shard in shards:
            leadership.add(shard, jobs.job(name, shard), group="meter")
        return leadership

    first, second = sharded("first"), sharded("second")
    first_task = asyncio.create_task(first.run())
    await wait_until(lambda: len(first.leading) == 4, "the only worker leads every shard")
    second_task = asyncio.create_task(second.run())
    await wait_until(
        lambda: len(first.leading) == 2 and len(second.leading) == 2,
        "the two workers lead two shards each",
    )
    assert first.leading.isdisjoint(second.leading)
    for shard in shards:
        assert len(jobs.running[shard]) == 1, (shard, jobs.running[shard])
    await stop(first_task)
    await wait_until(lambda: len(second.leading) == 4, "the survivor leads every shard again")
    await stop(second_task)
