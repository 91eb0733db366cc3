"""Log queries per committed batch: how often one worker's followers of the log (every
projection, policy, meter shard and dispatcher shard it leads) query `eventlog_events` for
each batch the writers commit, with every job idle and caught up between batches.

    python -m bench.reader [--batches 200] [--interval 0.1] [--burst 2000]

This process runs two olos on a fresh database: one that only writes (coin grants, each its
own group commit when written one at a time), and one worker (`start_worker`, the production
set of jobs). The queries are counted by the followers themselves (`LOG_READS`); the batches
by both olos' writers (the worker's policies may write too).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any
from uuid import UUID

import uvloop

from app import Olo, start
from bench.calls import bounded
from bench.common import fresh_database, report
from eventlog.projection import LOG_READS
from eventlog.settings import Settings


async def level(writer: Olo, worker: Olo, seconds: float = 60) -> None:
    """Wait until every job the worker leads has applied the whole log (tracked jobs by
    their position, the in-memory ones by having nothing left to read)."""
    assert worker.leadership is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        head = await writer.pool.fetchval(
            "SELECT coalesce(max(notification_id), 0) FROM eventlog_events"
        )
        jobs: list[Any] = [*worker.runners, *(led.job for led in worker.jobs)]
        behind = [job for job in jobs if job.position < head]
        if not behind:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"jobs still behind: {behind}")


def batches(*olos: Olo) -> int:
    return sum(o.writer.batches for o in olos)


async def measure(
    writer: Olo, worker: Olo, commands: list[Any], concurrency: int, interval: float
) -> dict[str, Any]:
    """Run the commands (`concurrency` at a time, `interval` apart when one at a time) and
    count the log's queries and the batches committed meanwhile."""
    await level(writer, worker)
    await asyncio.sleep(1.5)  # the jobs' idle polls of the setup are over
    reads, committed, began = LOG_READS.queries, batches(writer, worker), time.monotonic()
    if concurrency == 1:
        for command in commands:
            await command()
            await asyncio.sleep(interval)
    else:
        await bounded(commands, lambda c: c(), concurrency)
    written = time.monotonic()
    await level(writer, worker)
    queries, done = LOG_READS.queries - reads, batches(writer, worker) - committed
    return {
        "batches": done,
        "log queries": queries,
        "queries / batch": round(queries / max(done, 1), 2),
        "writing s": round(written - began, 2),
        "then level s": round(time.monotonic() - written, 2),
    }


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    url = await fresh_database("olo_bench_reader")
    settings = Settings(mode="development")
    writer = await start(settings, url)
    worker = await start(settings, url)
    try:
        worker.start_worker()
        assert worker.leadership is not None
        jobs = len(worker.runners) + len(worker.jobs)
        while len(worker.leadership.leading) < jobs:  # noqa: ASYNC110 (polled state)
            await asyncio.sleep(0.1)
        users: list[UUID] = [
            await writer.services.profiles.register(f"bench-reader-{i}") for i in range(20)
        ]
        balance = writer.services.balance

        def grants(label: str, n: int) -> list[Any]:
            return [
                lambda i=i: balance.grant(users[i % len(users)], 1, key=f"{label}/{i}")
                for i in range(n)
            ]

        spaced = await measure(writer, worker, grants("spaced", args.batches), 1, args.interval)
        burst = await measure(writer, worker, grants("burst", args.burst), 64, 0.0)
        return [
            {"load": f"one grant every {args.interval} s", "jobs": jobs, **spaced},
            {"load": "grants, 64 at a time", "jobs": jobs, **burst},
        ]
    finally:
        await worker.close()
        await writer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200, help="grants written one at a time")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between them")
    parser.add_argument("--burst", type=int, default=2000, help="grants written 64 at a time")
    args = parser.parse_args()
    rows = uvloop.run(run(args))
    report("reader", rows, {"args": vars(args)})


if __name__ == "__main__":
    main()
