"""The worker's shared log reader under faults: an `olo worker` whose one reader feeds every
job it leads (projections, policies, meter and dispatcher shards) is killed with -9 while
commands stream in (calls billed by the meter, transfers, notifications), then a new worker
takes over. Every read model then equals an independent replay of the log: no row missing,
none applied twice, no checkpoint charged twice, every notification handled once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
from ledger_support import CREDITED, DEBITED, TRANSFER_MADE, replay_ledger, transfer
from meter_support import (
    POOL_MAX,
    SHARDS,
    Pair,
    Worker,
    all_shards_led,
    assert_charged_exactly_once,
    connect_calls,
    decoded,
    fresh_calls,
    hang_up_all,
    wait_until,
)

from app import Olo, projections, start
from domains.balance.aggregate import PlatformAccount
from domains.notification.aggregate import NotificationKind
from domains.video.aggregate import Side
from eventlog.settings import Settings

CALLS = 12
USERS = 10  # they pass coins round a ring and are notified, while the calls are billed
RUNNING = 2.5  # seconds of load before the kill, and again after the new worker leads
REQUESTED = "olo.notification:Notification.Requested"
PUSH_ATTEMPTED = "olo.notification:Notification.PushAttempted"


async def started(settings: Settings, database_url: str) -> Olo:
    """olo in the test process, without a worker: the jobs run in `olo worker` processes."""
    update = {"media_events": "clients", "meter_shards": SHARDS, "db_pool_max": POOL_MAX}
    return await start(settings.model_copy(update={**update, "db_pool_min": 1}), database_url)


async def load(olo: Olo, users: list[UUID], stop: asyncio.Event) -> int:
    """Transfers round the ring and one notification each, until stopped; how many rounds."""
    balance = olo.services.balance
    notifications = olo.services.notifications
    rounds = 0
    while not stop.is_set():
        source, target = users[rounds % USERS], users[(rounds + 1) % USERS]
        await asyncio.gather(
            transfer(balance, f"ring/{rounds}", source, target, 1),
            notifications.notify(
                target, NotificationKind.MISSED_CALL, {"callId": str(uuid4())}, key=f"r/{rounds}"
            ),
        )
        rounds += 1
        await asyncio.sleep(0.005)
    return rounds


async def level(pg: asyncpg.Connection) -> bool:
    """Every projection has applied the whole log, and no notification waits for a push."""
    head = await pg.fetchval("SELECT coalesce(max(notification_id), 0) FROM eventlog_events")
    tracked = await pg.fetch(
        "SELECT position FROM olo_tracking WHERE name = ANY($1::text[])",
        [p.name for p in projections()],
    )
    waiting = await pg.fetchval(
        "SELECT count(*) FROM notification_items WHERE status IN ('requested', 'pushing')"
    )
    return len(tracked) == len(projections()) and all(r[0] == head for r in tracked) and not waiting


async def test_a_worker_killed_while_its_reader_feeds_every_job_loses_and_doubles_nothing(
    settings: Settings, database_url: str, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    olo = await started(settings, database_url)
    workers: list[Worker] = []
    stop = asyncio.Event()
    try:
        pairs = await connect_calls(olo, CALLS)
        users = [await olo.services.profiles.register(f"ring-{i}") for i in range(USERS)]
        for user in users:
            await olo.services.balance.grant(user, 10_000, key=f"fund/{user}")
        workers.append(Worker("first", database_url, tmp_path))
        await wait_until(lambda: all_shards_led(pg), "the first worker leads every shard")
        loading = asyncio.create_task(load(olo, users, stop))
        await asyncio.sleep(RUNNING)

        workers[0].kill()  # mid-page: commits stream in and every job is being fed
        await asyncio.sleep(1.0)
        workers.append(Worker("second", database_url, tmp_path))
        await wait_until(lambda: all_shards_led(pg), "the second worker leads every shard")
        await asyncio.sleep(RUNNING)
        stop.set()
        assert await loading > 50

        await hang_up_all(olo, pairs)
        await wait_until(lambda: level(pg), "the second worker has applied the whole log", 60)
        for worker in workers:
            assert "one log reader follows the log" in worker.log.read_text(errors="replace")
        await assert_charged_exactly_once(olo, pg, pairs)
        await assert_balances_replayed(olo, pg)
        await assert_calls_replayed(olo, pg, pairs)
        await assert_notifications_replayed(pg)
        keys = Counter(t.key for t in await decoded(pg, olo.event_log.mapper, [TRANSFER_MADE]))
        assert [k for k, n in keys.items() if n > 1] == []  # each transfer key moved once
    except BaseException:
        for worker in workers:
            print(worker.tail())
        raise
    finally:
        stop.set()
        for worker in workers:
            worker.kill()
        await olo.close()


async def assert_balances_replayed(olo: Olo, pg: asyncpg.Connection) -> None:
    """Each debit and credit in the log is one history row, each balance and the ledger
    (additive: a page applied twice would double it) equal the replay's."""
    replay = await replay_ledger(pg, olo.event_log.mapper)
    assert replay.breaks == [] and sum(replay.ledger.values()) == 0
    moves = {
        (e.originator_id, e.originator_version): e.balance
        for e in await decoded(pg, olo.event_log.mapper, [DEBITED, CREDITED])
    }
    rows = await pg.fetch("SELECT account_id, version, balance FROM balance_history")
    assert {(r[0], r[1]): r[2] for r in rows} == moves and len(rows) == len(moves)
    accounts = {
        r[0]: r[1] for r in await pg.fetch("SELECT account_id, coins FROM balance_accounts")
    }
    assert accounts == replay.coins
    platform = {a.account_id for a in PlatformAccount}
    ledger = {r[0]: r[1] for r in await pg.fetch("SELECT account_id, coins FROM balance_ledger")}
    assert {a: ledger.get(a, 0) for a in platform} == {a: replay.ledger[a] for a in platform}


async def assert_calls_replayed(olo: Olo, pg: asyncpg.Connection, pairs: list[Pair]) -> None:
    """One row per call, as ended as its aggregate, with the coins its charges add up to."""
    rows = {r["call_id"]: r for r in await pg.fetch("SELECT * FROM video_calls")}
    assert len(rows) == len(pairs)
    for call in await fresh_calls(olo, pairs):
        row = rows[call.id]
        assert call.end_reason is not None
        assert (row["status"], row["end_reason"]) == (call.status.value, call.end_reason.value)
        coins = (row["caller_coins"], row["streamer_coins"])
        assert coins == (call.coins[Side.CALLER], call.coins[Side.STREAMER]), call.id


async def assert_notifications_replayed(pg: asyncpg.Connection) -> None:
    """One row per notification asked for, at the position of its last event in the log,
    with its push attempts (additive) counted once each."""
    events = await pg.fetch(
        "SELECT originator_id, topic, notification_id FROM eventlog_events "
        "WHERE topic LIKE 'olo.notification:Notification.%' ORDER BY notification_id"
    )
    asked = {e[0] for e in events if e[1] == REQUESTED}
    last = {e[0]: e[2] for e in events}
    attempts = Counter(e[0] for e in events if e[1] == PUSH_ATTEMPTED)
    rows = await pg.fetch("SELECT notification_id, attempts, position FROM notification_items")
    assert {r[0] for r in rows} == asked and len(rows) == len(asked) > 50
    assert {r[0]: (r[1], r[2]) for r in rows} == {n: (attempts[n], last[n]) for n in asked}
