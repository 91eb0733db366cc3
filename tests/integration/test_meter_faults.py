"""The call meter under faults: a worker killed with -9 mid-call, and two workers on one database
until the one leading the meter's shards dies. Whatever happens, each checkpoint of each side is
charged exactly once, and a call ends owing exactly what the tariff's pure function says."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
from meter_support import (
    POOL_MAX,
    POOR,
    SHARDS,
    Pair,
    Worker,
    all_shards_led,
    assert_billed_until,
    assert_charged_exactly_once,
    charges_of,
    connect_calls,
    fresh_calls,
    hang_up_all,
    meter_holders,
    wait_until,
)

from app import Olo, start
from domains.video.aggregate import Call, CallStatus, EndReason, Side
from eventlog.settings import Settings

CALLS = 20
BILLING = 3.0  # seconds a meter runs before the next fault
OUTAGE = 3.0  # seconds with no meter at all
LATE = 1.0  # a checkpoint due longer ago than this must have been charged


async def started(settings: Settings, database_url: str) -> Olo:
    """olo in the test process, without a worker: the meters run in `olo worker` processes."""
    return await start(
        settings.model_copy(
            update={
                "media_events": "clients",
                "meter_shards": SHARDS,
                "db_pool_min": 1,
                "db_pool_max": POOL_MAX,
            }
        ),
        database_url,
    )


def assert_end_reasons(olo_calls: list[tuple[Pair, EndReason | None]]) -> None:
    for pair, reason in olo_calls:
        expected = EndReason.INSUFFICIENT_FUNDS if pair.grant == POOR else EndReason.HANGUP_CALLER
        assert reason is expected, (pair, reason)


async def finish(olo: Olo, pg: asyncpg.Connection, pairs: list[Pair]) -> None:
    """Hang up what is still open, then check every charge against the log."""
    await hang_up_all(olo, pairs)
    await assert_charged_exactly_once(olo, pg, pairs)
    calls = await fresh_calls(olo, pairs)
    assert_end_reasons([(p, c.end_reason) for p, c in zip(pairs, calls, strict=True)])


def assert_outage_caught_up(
    charges: dict[UUID, dict[Side, list[Any]]],
    calls: list[Call],
    killed_at: float,
    back_at: float,
) -> None:
    """Of calls open when the meter died: nothing due after its death was charged before a
    meter was back, and each had something come due meanwhile (a checkpoint, or the one its
    caller could not pay, which ended the call once a meter was back)."""
    for call in calls:
        events = [e for side in Side for e in charges[call.id][side]]
        assert all(e.at >= back_at for e in events if e.due_at > killed_at), call.id
        came_due = [e for e in events if killed_at + 0.5 < e.due_at < back_at - 0.5]
        ended_late = call.ended_at is not None and call.ended_at >= back_at
        assert came_due or ended_late, f"nothing of {call.id} came due during the outage"


async def test_checkpoints_due_while_the_meter_is_dead_are_charged_once_when_it_is_back(
    settings: Settings, database_url: str, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    olo = await started(settings, database_url)
    workers: list[Worker] = []
    failed = False
    try:
        pairs = await connect_calls(olo, CALLS)
        workers.append(Worker("first", database_url, tmp_path))
        await wait_until(lambda: all_shards_led(pg), "the first worker leads every shard")
        await asyncio.sleep(BILLING)
        await assert_billed_until(olo, pairs, time.time() - LATE)

        workers[0].kill()
        killed_at = time.time()
        open_then = [c for c in await fresh_calls(olo, pairs) if c.status is CallStatus.CONNECTED]
        await asyncio.sleep(OUTAGE)
        back_at = time.time()
        workers.append(Worker("second", database_url, tmp_path))
        await wait_until(lambda: all_shards_led(pg), "the second worker leads every shard")
        await asyncio.sleep(BILLING)
        await assert_billed_until(olo, pairs, time.time() - LATE)

        # The outage was real: checkpoints came due with no meter running, and were charged
        # (or, past a poor caller's coins, ended the call) only once a meter was back.
        charges = await charges_of(pg, olo.event_log.mapper)
        went_on = {c.id for c in open_then}
        calls = await fresh_calls(olo, [p for p in pairs if p.call_id in went_on])
        assert_outage_caught_up(charges, calls, killed_at, back_at)
        assert len(open_then) >= CALLS * 3 // 4  # every rich caller's call was still going
        await finish(olo, pg, pairs)
    except BaseException:
        failed = True
        raise
    finally:
        for worker in workers:
            worker.stop_and_report(failed)
        await olo.close()


async def test_a_second_worker_takes_over_the_dead_workers_shards_and_bills_on(
    settings: Settings, database_url: str, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    olo = await started(settings, database_url)
    workers: list[Worker] = []
    failed = False
    try:
        pairs = await connect_calls(olo, CALLS)
        workers += [Worker("a", database_url, tmp_path), Worker("b", database_url, tmp_path)]
        await wait_until(lambda: all_shards_led(pg), "every shard has a leader")
        await wait_until(lambda: leadership_sessions(pg, 2), "both workers are up")
        await wait_until(lambda: split_evenly(pg), "the shards are shared out between the two")
        await asyncio.sleep(BILLING)
        await assert_billed_until(olo, pairs, time.time() - LATE)

        victim, survivor = workers
        victim.kill()
        await wait_until(lambda: led_by_one(pg), "the survivor leads every shard", seconds=10)
        assert set(survivor.led_shards()) == set(range(SHARDS))
        await asyncio.sleep(BILLING)
        await assert_billed_until(olo, pairs, time.time() - LATE)
        await finish(olo, pg, pairs)
    except BaseException:
        failed = True
        raise
    finally:
        for worker in workers:
            worker.stop_and_report(failed)
        await olo.close()


async def split_evenly(pg: asyncpg.Connection) -> bool:
    """Two backends lead the shards, half each (leadership shares grouped jobs out)."""
    held = await meter_holders(pg)
    leaders = Counter(pids[0] for pids in held.values() if len(pids) == 1)
    return sorted(leaders.values()) == [SHARDS // 2, SHARDS - SHARDS // 2]


async def led_by_one(pg: asyncpg.Connection) -> bool:
    """One backend leads every shard (the dead worker's sessions are gone from pg_locks)."""
    held = await meter_holders(pg)
    return all(len(p) == 1 for p in held.values()) and len({p[0] for p in held.values()}) == 1


async def leadership_sessions(pg: asyncpg.Connection, count: int) -> bool:
    """`count` workers' leadership sessions are up: each holds locks or keeps trying them."""
    seen = await pg.fetchval(
        "SELECT count(DISTINCT a.pid) FROM pg_stat_activity a "
        "WHERE a.datname = current_database() AND (a.query LIKE 'SELECT pg_try_advisory_lock%' "
        "OR EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory'))"
    )
    return int(seen) >= count
